"""Demo data: a fictional company, 华岭新材料集团, for trying lightboard out.

`load_demo_data()` is idempotent: it creates what is missing and leaves what exists
(including anything a user has since edited) alone.
"""

import datetime
from decimal import Decimal

from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from lightboard import clock
from lightboard.roles import Role

from . import services
from .models import (
    AssessmentYear,
    Department,
    KeyTask,
    SelfAssessment,
    StageTarget,
    TaskList,
    User,
)

DEMO_PASSWORD = "demo"

# (code, name, kind, division leader's username)
DEPARTMENTS = [
    ("ZHB", "综合办公室", Department.Kind.DEPARTMENT, "zhou.wenhua"),
    ("DQB", "党群工作部", Department.Kind.DEPARTMENT, "zhou.wenhua"),
    ("CWB", "财务部", Department.Kind.DEPARTMENT, "sun.lixin"),
    ("RLB", "人力资源部", Department.Kind.DEPARTMENT, "zhou.wenhua"),
    ("SCB", "生产运营部", Department.Kind.DEPARTMENT, "leader"),
    ("AHB", "安全环保部", Department.Kind.DEPARTMENT, "leader"),
    ("JSZX", "技术研发中心", Department.Kind.DEPARTMENT, "leader"),
    ("YXB", "市场营销部", Department.Kind.DEPARTMENT, "sun.lixin"),
    ("JJB", "纪检监察部", Department.Kind.DEPARTMENT, "zhou.wenhua"),
    ("HLKY", "华岭矿业有限公司", Department.Kind.SUBSIDIARY, "sun.lixin"),
    ("HLYL", "华岭冶炼有限公司", Department.Kind.SUBSIDIARY, "leader"),
    ("HLCC", "华岭磁材科技有限公司", Department.Kind.SUBSIDIARY, "sun.lixin"),
]

# The demo logins, one per role, all with the password "demo".
# (username, name, roles, department codes, superuser)
LOGINS = [
    ("staff", "王晓明", [Role.STAFF], ["SCB"], False),
    ("leader", "李建国", [Role.DIVISION_LEADER], [], False),
    ("leadership", "陈志远", [Role.LEADERSHIP], [], False),
    ("inspector", "赵敏", [Role.INSPECTOR], ["JJB"], False),
    ("admin", "系统管理员", [Role.ADMINISTRATOR], [], True),
]

# People who appear in the data but do not sign in (no usable password).
OTHER_LEADERS = [("zhou.wenhua", "周文华"), ("sun.lixin", "孙立新")]
OWNER_NAMES = [
    "张伟",
    "刘洋",
    "杨帆",
    "黄磊",
    "吴静",
    "徐婷",
    "马骏",
    "胡丽",
    "郭强",
    "林峰",
    "何敏",
    "高翔",
    "罗娟",
    "郑凯",
    "梁欣",
    "谢涛",
    "宋佳",
    "唐亮",
    "韩雪",
    "冯博",
    "邓超",
    "曹颖",
    "彭程",
]

TASKS = {
    "ZHB": [
        "公文处理流程线上化改造",
        "重点督办事项台账管理",
        "总部办公用房优化调整",
        "档案数字化整理",
        "会议制度精简与执行",
    ],
    "DQB": [
        "基层党组织标准化建设",
        "党建与生产经营融合项目",
        "青年骨干培养计划",
        "企业文化品牌宣传",
        "职工之家建设提升",
    ],
    "CWB": [
        "全面预算管理系统上线",
        "应收账款压降专项行动",
        "融资成本降低方案",
        "财务共享中心建设",
        "年度审计问题整改",
    ],
    "RLB": [
        "三项制度改革深化",
        "关键岗位人才储备",
        "薪酬绩效体系优化",
        "职业技能等级认定",
        "员工培训覆盖率提升",
    ],
    "SCB": [
        "主要产品产量计划完成",
        "生产设备完好率提升",
        "能耗指标下降专项",
        "精益生产试点推广",
        "生产调度系统升级",
    ],
    "AHB": [
        "安全生产标准化达标",
        "重大危险源在线监测",
        "环保设施升级改造",
        "隐患排查治理闭环",
        "应急演练全覆盖",
    ],
    "JSZX": [
        "高性能材料中试线建设",
        "专利申请与成果转化",
        "关键工艺技术攻关",
        "研发项目管理规范化",
        "产学研合作平台建设",
    ],
    "YXB": [
        "重点客户开发",
        "销售回款率提升",
        "新产品市场推广",
        "客户满意度调查与改进",
        "营销渠道数字化建设",
    ],
    "JJB": [
        "廉洁风险防控体系建设",
        "专项监督检查",
        "纪律教育月活动",
        "信访举报办理规范化",
        "监督执纪问责台账管理",
    ],
    "HLKY": [
        "矿山资源储量核实",
        "绿色矿山建设",
        "采矿回采率提升",
        "矿区安全设施改造",
        "尾矿库综合治理",
    ],
    "HLYL": [
        "冶炼回收率提升",
        "冶炼车间自动化改造",
        "危废规范化处置",
        "冶炼成本对标降本",
        "产品质量一次合格率提升",
    ],
    "HLCC": [
        "磁材产能扩建项目",
        "高端磁材产品认证",
        "智能制造示范产线",
        "出口订单拓展",
        "研发投入强度提升",
    ],
}

STAGE_TARGET_PHRASES = [
    "制定实施方案，明确分工、节点和责任人",
    "方案审批通过，启动实施，完成约30%",
    "全面推进实施，完成约50%",
    "完成约70%，开展中期检查评估",
    "完成约90%，对照标准查漏补缺",
    "全面完成年度目标并组织总结验收",
]

# Scores of past stages, cycled through so the demo shows every colour and both
# boundaries (80.0 and 60.0 are yellow; 80.1 is green; 59.9 is red).
SCORES = [
    "95.0",
    "88.5",
    "80.1",
    "80.0",
    "79.9",
    "72.0",
    "92.0",
    "65.5",
    "60.0",
    "59.9",
    "45.0",
    "85.0",
    "100.0",
    "83.0",
    "70.0",
    "97.5",
    "30.0",
    "90.0",
    "81.0",
    "62.5",
]
DEADLINE_MONTHS = [6, 9, 12, 12, 10]
WEIGHTS = ["1.00", "1.50", "1.00", "2.00", "1.00"]


def _ensure_user(username, name, *, password=None, superuser=False):
    user, created = User.objects.get_or_create(
        username=username, defaults={"name": name, "is_staff": superuser, "is_superuser": superuser}
    )
    if created:
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


@transaction.atomic
def load_demo_data(today=None):
    """Create the demo company, its logins, the current year's tasks and past stages'
    self-assessments. Returns the assessment year."""
    today = today or clock.today()
    groups = {role: Group.objects.get_or_create(name=role.value)[0] for role in Role}

    users = {}
    for username, name, roles, _codes, superuser in LOGINS:
        users[username] = _ensure_user(username, name, password=DEMO_PASSWORD, superuser=superuser)
        users[username].groups.add(*(groups[role] for role in roles))
    for username, name in OTHER_LEADERS:
        users[username] = _ensure_user(username, name)
        users[username].groups.add(groups[Role.DIVISION_LEADER])

    departments = {}
    for code, name, kind, leader in DEPARTMENTS:
        departments[code], _ = Department.objects.get_or_create(
            code=code, defaults={"name": name, "kind": kind, "division_leader": users[leader]}
        )
    for username, _name, _roles, codes, _superuser in LOGINS:
        users[username].departments.add(*(departments[code] for code in codes))

    year = AssessmentYear.objects.filter(year=today.year).first()
    if year is None:
        year = services.create_assessment_year(year=today.year)
    services.ensure_stages(year)
    stages = list(year.stages.order_by("number"))
    past_stages = [stage for stage in stages if stage.self_assessment_due < today]

    owner_names = iter(OWNER_NAMES)
    task_number = 0
    for code, titles in TASKS.items():
        department = departments[code]
        TaskList.objects.get_or_create(year=year, department=department, defaults={"state": TaskList.State.APPROVED})
        # Two owners per department; the demo staff login owns tasks of its own department.
        if code == "SCB":
            owners = [users["staff"], _ensure_user(f"owner.{code.lower()}", next(owner_names))]
        else:
            owners = [_ensure_user(f"owner.{code.lower()}.{n}", next(owner_names)) for n in (1, 2)]
        staff_group = groups[Role.STAFF]
        for owner in owners:
            owner.groups.add(staff_group)
            owner.departments.add(department)

        for index, title in enumerate(titles):
            month = DEADLINE_MONTHS[index]
            task, _ = KeyTask.objects.get_or_create(
                year=year,
                department=department,
                title=title,
                defaults={
                    "standard": f"按期完成“{title}”年度目标，形成可核查的成果材料并通过验收。",
                    "owner": owners[index % 2],
                    "deadline": _month_end(year.year, month),
                    "weight": Decimal(WEIGHTS[index]),
                },
            )
            StageTarget.objects.bulk_create(
                [
                    StageTarget(task=task, stage=stage, description=STAGE_TARGET_PHRASES[stage.number - 1])
                    for stage in stages
                ],
                ignore_conflicts=True,
            )
            SelfAssessment.objects.bulk_create(
                [_past_assessment(task, stage, task_number, latest=stage == past_stages[-1]) for stage in past_stages],
                ignore_conflicts=True,
            )
            task_number += 1
    return year


def _past_assessment(task, stage, task_number, *, latest):
    score = Decimal(SCORES[(task_number * 3 + stage.number) % len(SCORES)])
    # Every seventh submission came two days late.
    days_after_due = 2 if (task_number + stage.number) % 7 == 0 else -1
    submitted_on = stage.self_assessment_due + datetime.timedelta(days=days_after_due)
    submitted_at = timezone.make_aware(datetime.datetime.combine(submitted_on, datetime.time(17, 0)))
    # The latest past stage still waits for the division leader; earlier ones are confirmed.
    state = SelfAssessment.State.SUBMITTED if latest else SelfAssessment.State.CONFIRMED
    return SelfAssessment(
        task=task,
        stage=stage,
        completion=score,
        account=f"第{stage.number}阶段：{STAGE_TARGET_PHRASES[stage.number - 1]}。详见佐证材料。",
        state=state,
        submitted_at=submitted_at,
        submitted_by=task.owner,
    )


def _month_end(year, month):
    next_month = datetime.date(year + month // 12, month % 12 + 1, 1)
    return next_month - datetime.timedelta(days=1)
