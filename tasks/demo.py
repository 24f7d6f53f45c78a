"""Demo data: a fictional rare-earth group, 华岭新材料集团, for trying lightboard out.

The demo tells one believable year. Each of the twelve departments and subsidiaries has five
key tasks with a completion standard and six staged targets of their own; their self scores
follow a story per department: the group starts the year well; mid-year the rare-earth price
slump, an environmental inspection and the flood season push the production, sales and
subsidiaries' work into yellow and red (stage 3 is the trough); supervision and rectification
bring most of it back by stage 5, while 生产运营部 keeps sliding (overhauls) and 华岭磁材's
exports suffer from trade barriers.

`load_demo_data()` is idempotent: it creates what is missing and leaves what exists
(including anything a user has since edited) alone.
"""

import datetime
from decimal import Decimal
from typing import NamedTuple

from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from lightboard import clock
from lightboard.colour import classify
from lightboard.roles import Role

from . import services
from .models import (
    AssessmentYear,
    Department,
    KeyTask,
    LibraryTask,
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


class DemoTask(NamedTuple):
    """One key task of the demo: its completion standard, its six stage targets (stage 1 to 6)
    and the department's self scores of the six stages (used for the stages already past)."""

    title: str
    standard: str
    targets: tuple
    scores: tuple
    deadline_month: int = 12
    weight: str = "1.00"


def _task(title, standard, targets, scores, deadline_month=12, weight="1.00"):
    assert len(targets) == 6 and len(scores) == 6, title
    return DemoTask(title, standard, tuple(targets), tuple(Decimal(s) for s in scores), deadline_month, weight)


# The key task lists. Scores are the self scores of stages 1–6 (a stage's are used once its
# self-assessment is due): each department has its own course through the year.
TASKS = {
    # 综合办公室: steady; the office move slipped while its tender failed once.
    "ZHB": [
        _task(
            "公文处理流程线上化改造",
            "6月底前总部及三家子公司公文全部线上流转，平均办理时长较上年缩短30%。",
            [
                "完成公文流转现状梳理和线上化需求调研",
                "OA公文模块配置完成，总部各部门试运行",
                "总部及三家子公司公文全部线上流转，通过验收",
                "巩固运行，公文平均办理时长较上年缩短20%",
                "开展线上公文办理质量抽查，问题整改到位",
                "全年公文平均办理时长较上年缩短30%，形成运行评估报告",
            ],
            ["92.0", "88.0", "95.0", "96.0", "97.0", "98.0"],
            deadline_month=6,
        ),
        _task(
            "重点督办事项台账管理",
            "集团重点督办事项100%建立台账、按月销号，全年办结率不低于95%。",
            [
                "建立年度重点督办事项台账，明确责任部门和销号时限",
                "督办事项按月跟踪销号，办结率达到40%",
                "办结率达到60%，对逾期事项开展专项督办",
                "办结率达到75%，完成半年督办情况通报",
                "办结率达到88%，剩余事项逐项明确办结路径",
                "全年督办事项办结率不低于95%，台账全部销号归档",
            ],
            ["90.0", "91.0", "93.0", "94.0", "95.0", "96.0"],
            weight="1.50",
        ),
        _task(
            "总部办公用房优化调整",
            "按国有企业办公用房标准完成总部用房清理调整，人均面积全部达标，腾退用房盘活利用。",
            [
                "完成总部办公用房面积核查，制定调整方案",
                "调整方案经党委会审议通过，启动装修招标",
                "完成装修招标，启动两层办公区改造施工",
                "改造施工完成70%，制定部门搬迁计划",
                "完成改造和部门搬迁，腾退用房对外出租",
                "人均办公面积全部达标，通过集团专项检查",
            ],
            ["85.0", "82.0", "76.0", "84.0", "90.0", "95.0"],
            deadline_month=10,
        ),
        _task(
            "档案数字化整理",
            "完成2000年以来文书、科技档案数字化共12万卷，档案管理系统上线查询。",
            [
                "完成外包服务招标，启动文书档案扫描，累计完成1.2万卷",
                "累计完成数字化3万卷，达到全年任务的25%",
                "累计完成5.4万卷（45%），档案管理系统完成部署",
                "累计完成7.8万卷（65%），启动科技档案数字化",
                "累计完成10.2万卷（85%），完成系统数据校验",
                "12万卷全部完成数字化并上线查询，通过档案部门验收",
            ],
            ["88.0", "78.0", "71.0", "82.0", "88.0", "93.0"],
            weight="2.00",
        ),
        _task(
            "会议制度精简与执行",
            "集团层面会议数量较上年压减20%，会议纪要100%按期印发。",
            [
                "修订集团会议管理办法，明确会议计划审批流程",
                "前4个月会议数量较上年同期压减10%",
                "会议数量累计压减15%，会议纪要按期印发率100%",
                "开展会议制度执行情况半年检查，问题清单整改",
                "会议数量累计压减18%，视频会议占比达到50%",
                "全年会议数量较上年压减20%以上，形成执行评估报告",
            ],
            ["95.0", "93.0", "94.0", "92.0", "96.0", "97.0"],
        ),
    ],
    # 党群工作部: green all year but for the staff homes, delayed by their budget.
    "DQB": [
        _task(
            "基层党组织标准化建设",
            "所属46个基层党支部全部达到标准化建设要求，创建示范党支部6个。",
            [
                "制定标准化建设评分细则，完成46个支部自查",
                "完成15个支部标准化验收，确定示范支部培育名单",
                "累计验收28个支部（61%），开展示范支部中期检查",
                "累计验收36个支部（78%），对薄弱支部结对帮扶",
                "累计验收43个支部（93%），示范支部申报评审",
                "46个支部全部达标，命名示范党支部6个",
            ],
            ["93.0", "94.0", "95.0", "95.0", "96.0", "98.0"],
            weight="1.50",
        ),
        _task(
            "党建与生产经营融合项目",
            "立项“党建+”融合项目12个，形成可量化的生产经营成效并通过评审。",
            [
                "征集融合项目，确定12个立项项目及责任人",
                "12个项目完成实施方案，启动实施",
                "项目推进过半，召开中期交流会",
                "8个项目取得阶段性量化成效",
                "全部项目完成实施，整理成效材料",
                "组织项目评审，评选优秀项目并推广经验",
            ],
            ["86.0", "84.0", "88.0", "90.0", "91.0", "95.0"],
        ),
        _task(
            "青年骨干培养计划",
            "选拔青年骨干60名，完成轮岗、导师带徒和专题培训，年度考核合格率不低于90%。",
            [
                "完成60名青年骨干选拔，建立成长档案",
                "落实导师带徒结对，启动第一批轮岗",
                "完成专题培训两期，第一批轮岗考核",
                "启动第二批轮岗，开展中期述职",
                "完成全部轮岗和四期专题培训",
                "年度考核合格率不低于90%，择优推荐后备人选",
            ],
            ["90.0", "87.0", "85.0", "88.0", "92.0", "96.0"],
        ),
        _task(
            "企业文化品牌宣传",
            "全年在省级以上媒体发稿30篇，完成企业文化手册修订和品牌宣传片制作。",
            [
                "制定年度宣传计划，启动企业文化手册修订",
                "省级以上媒体发稿6篇，文化手册初稿完成",
                "累计发稿13篇，品牌宣传片完成脚本和拍摄",
                "累计发稿19篇，文化手册定稿印发",
                "累计发稿25篇，品牌宣传片发布",
                "全年省级以上媒体发稿30篇，完成品牌传播效果评估",
            ],
            ["94.0", "92.0", "90.0", "93.0", "94.0", "97.0"],
        ),
        _task(
            "职工之家建设提升",
            "完成8个基层职工之家改造提升，职工满意度不低于90%。",
            [
                "完成8个基层职工之家现状摸排，列出改造清单",
                "改造方案和预算获批，启动3个点位改造",
                "完成3个点位改造，启动其余5个点位",
                "累计完成6个点位改造",
                "8个点位全部完成改造并投入使用",
                "开展职工满意度测评，满意度不低于90%",
            ],
            ["82.0", "74.0", "83.0", "86.0", "90.0", "94.0"],
            deadline_month=10,
        ),
    ],
    # 财务部: the receivables drive fails as customers hold back payment; the shared centre
    # slips mid-year and recovers.
    "CWB": [
        _task(
            "全面预算管理系统上线",
            "9月底前预算管理系统在集团本部及全部子公司上线，预算编制、执行、分析线上闭环。",
            [
                "完成系统选型和实施方案评审",
                "完成系统蓝图设计，本部预算编制模块上线",
                "执行控制模块上线，两家子公司接入",
                "全部子公司接入，预算执行线上控制",
                "系统通过验收，完成前三季度预算执行分析",
                "用系统编制下年度预算，实现线上闭环",
            ],
            ["90.0", "78.0", "66.0", "82.0", "88.0", "95.0"],
            deadline_month=9,
            weight="1.50",
        ),
        _task(
            "应收账款压降专项行动",
            "年末应收账款余额较年初压降4.5亿元（30%），一年以上逾期账款全部落实清收方案。",
            [
                "完成应收账款逐户清理，建立清收台账",
                "应收账款余额较年初压降0.9亿元（6%）",
                "累计压降1.8亿元（12%），逾期账款全部落实清收责任人",
                "累计压降2.7亿元（18%），对重点欠款单位启动法律程序",
                "累计压降3.6亿元（24%）",
                "年末应收账款余额较年初压降4.5亿元（30%）",
            ],
            ["85.0", "72.0", "58.0", "55.0", "63.0", "75.0"],
            weight="2.00",
        ),
        _task(
            "融资成本降低方案",
            "综合融资成本率降至3.2%以下，全年节约财务费用不少于1500万元。",
            [
                "制定降本方案，完成存量贷款置换测算",
                "完成首批3亿元高息贷款置换",
                "综合融资成本率降至3.5%，节约财务费用500万元",
                "发行超短期融资券，累计节约财务费用800万元",
                "综合融资成本率降至3.3%，累计节约1200万元",
                "综合融资成本率降至3.2%以下，全年节约财务费用1500万元以上",
            ],
            ["92.0", "90.0", "88.0", "91.0", "93.0", "96.0"],
        ),
        _task(
            "财务共享中心建设",
            "建成财务共享中心，本部及5家子公司核算业务全部纳入共享。",
            [
                "完成共享中心建设方案和组织架构设计",
                "共享中心人员到岗，费用报销业务试运行",
                "本部及两家子公司核算业务迁移",
                "累计4家单位核算业务纳入共享",
                "本部及5家子公司全部纳入共享",
                "共享中心稳定运行，单据处理时效提升40%",
            ],
            ["84.0", "70.0", "61.0", "75.0", "84.0", "90.0"],
            weight="1.50",
        ),
        _task(
            "年度审计问题整改",
            "上年度审计发现的28项问题整改完成率100%，建立审计整改长效机制。",
            [
                "制定28项审计问题整改清单，逐项明确责任和时限",
                "完成整改12项（43%）",
                "完成整改24项（86%），其余4项制定专项方案",
                "28项问题全部整改完成，报送整改报告",
                "开展整改“回头看”，防止问题反弹",
                "修订相关制度7项，建立审计整改长效机制",
            ],
            ["88.0", "93.0", "95.0", "97.0", "98.0", "100.0"],
            deadline_month=8,
        ),
    ],
    # 人力资源部: the reforms move slowly; the pay scheme stalls before the workers' congress.
    "RLB": [
        _task(
            "三项制度改革深化",
            "管理人员竞争上岗比例不低于40%，末等调整和不胜任退出比例不低于3%。",
            [
                "制定三项制度改革年度实施方案，报集团审批",
                "完成中层管理人员任期制和契约化签约",
                "开展首批竞争上岗，比例达到20%",
                "竞争上岗比例达到30%，完成半年考核",
                "竞争上岗比例达到40%，启动末等调整",
                "完成年度考核，末等调整和不胜任退出比例不低于3%",
            ],
            ["78.0", "74.0", "69.0", "77.0", "83.0", "88.0"],
            weight="2.00",
        ),
        _task(
            "关键岗位人才储备",
            "36个关键岗位全部按1:2配备后备人才，储备人才培训率100%。",
            [
                "梳理36个关键岗位清单和任职标准",
                "完成后备人才推荐和测评",
                "18个关键岗位完成1:2后备配备",
                "28个岗位完成后备配备，制定个人培养计划",
                "36个岗位全部完成后备配备",
                "储备人才培训率100%，建立动态调整机制",
            ],
            ["90.0", "88.0", "85.0", "87.0", "90.0", "94.0"],
        ),
        _task(
            "薪酬绩效体系优化",
            "新薪酬绩效管理办法经职工代表大会审议实施，绩效工资占比不低于40%。",
            [
                "完成薪酬现状诊断和外部对标",
                "形成薪酬绩效体系优化方案初稿",
                "方案征求意见，完成测算",
                "方案经职工代表大会审议通过",
                "新办法在本部和两家子公司试行",
                "新办法全面实施，绩效工资占比不低于40%",
            ],
            ["86.0", "82.0", "65.0", "57.0", "72.0", "85.0"],
            weight="1.50",
        ),
        _task(
            "职业技能等级认定",
            "全年完成职业技能等级认定800人次，高技能人才占比提升至32%。",
            [
                "取得技能等级认定备案资质，发布年度认定计划",
                "累计认定160人次，达到全年计划的20%",
                "累计认定360人次（45%）",
                "累计认定520人次（65%）",
                "累计认定680人次（85%）",
                "全年认定800人次，高技能人才占比达到32%",
            ],
            ["92.0", "85.0", "90.0", "93.0", "95.0", "97.0"],
        ),
        _task(
            "员工培训覆盖率提升",
            "全员培训覆盖率达到100%，人均培训不少于48学时。",
            [
                "发布年度培训计划，上线线上学习平台",
                "培训覆盖率达到30%，人均8学时",
                "培训覆盖率达到55%，人均20学时",
                "培训覆盖率达到72%，人均30学时",
                "培训覆盖率达到90%，人均40学时",
                "全员培训覆盖率100%，人均不少于48学时",
            ],
            ["88.0", "86.0", "82.0", "85.0", "90.0", "95.0"],
        ),
    ],
    # 生产运营部: a good start, then overhauls and uneven ore supply; it slides all year.
    "SCB": [
        _task(
            "主要产品产量计划完成",
            "全年完成稀土氧化物产量1.2万吨、磁性材料产量8000吨。",
            [
                "完成年度产量计划的14%，春节期间连续生产不停产",
                "累计完成年度产量计划的31%",
                "累计完成年度产量计划的50%，实现时间过半、任务过半",
                "累计完成年度产量计划的65%",
                "累计完成年度产量计划的82%",
                "完成全年稀土氧化物1.2万吨、磁性材料8000吨产量目标",
            ],
            ["88.5", "80.1", "80.0", "79.9", "72.0", "84.0"],
            weight="2.00",
        ),
        _task(
            "生产设备完好率提升",
            "主要生产设备完好率达到98%，非计划停机时间较上年下降30%。",
            [
                "完成主要设备状态评估，制定点检和检修计划",
                "主要设备完好率达到95%",
                "设备完好率达到96%，完成年中大修",
                "设备完好率达到97%，非计划停机时间下降15%",
                "设备完好率达到97.5%，非计划停机时间下降25%",
                "设备完好率达到98%，非计划停机时间较上年下降30%",
            ],
            ["92.0", "85.0", "74.0", "70.0", "66.0", "82.0"],
        ),
        _task(
            "能耗指标下降专项",
            "万元产值综合能耗较上年下降5%，完成3项节能技术改造。",
            [
                "完成能源审计，确定3项节能技改项目",
                "万元产值综合能耗同比下降1%，余热回收技改开工",
                "综合能耗同比下降2%，余热回收项目投运",
                "综合能耗同比下降3%，电机变频改造完成",
                "综合能耗同比下降4%，空压站节能改造完成",
                "万元产值综合能耗较上年下降5%，3项技改全部通过验收",
            ],
            ["82.0", "64.0", "52.0", "58.0", "61.0", "78.0"],
            weight="1.50",
        ),
        _task(
            "精益生产试点推广",
            "精益生产在4条试点产线全面推行，试点产线人均效率提升15%。",
            [
                "确定4条试点产线，完成价值流分析",
                "试点产线推行5S和标准作业",
                "两条产线人均效率提升8%",
                "4条试点产线全部导入，人均效率提升12%",
                "试点产线人均效率提升15%，通过验收",
                "总结试点经验，形成下年度推广方案",
            ],
            ["95.0", "90.0", "86.0", "83.0", "81.0", "88.0"],
            deadline_month=10,
        ),
        _task(
            "生产调度系统升级",
            "生产调度系统升级上线，集团与子公司生产数据实时采集、统一调度。",
            [
                "完成系统升级需求调研和方案评审",
                "完成招标，启动系统开发",
                "集团本部调度模块上线试运行",
                "冶炼公司生产数据接入，实现实时采集",
                "矿业、磁材公司生产数据接入",
                "系统全面上线，实现集团统一调度",
            ],
            ["88.0", "76.0", "70.0", "65.0", "60.0", "80.0"],
        ),
    ],
    # 安全环保部: the environmental inspection stops the upgrade in the spring and summer.
    "AHB": [
        _task(
            "安全生产标准化达标",
            "集团本部及3家子公司全部通过安全生产标准化二级达标评审，全年零死亡事故。",
            [
                "完成标准化自评，制定整改清单",
                "整改完成40%，冶炼公司申请外部评审",
                "冶炼公司通过二级达标评审",
                "矿业公司通过二级达标评审",
                "磁材公司通过二级达标评审，本部完成复审",
                "本部及3家子公司全部达标，全年零死亡事故",
            ],
            ["91.0", "89.0", "87.0", "92.0", "94.0", "96.0"],
            weight="2.00",
        ),
        _task(
            "重大危险源在线监测",
            "9处重大危险源全部接入在线监测预警平台，数据接入率100%。",
            [
                "完成9处重大危险源辨识和监测点位设计",
                "平台建设招标完成，3处危险源接入",
                "累计6处危险源接入，完成预警规则配置",
                "9处危险源全部接入，数据接入率100%",
                "平台通过应急管理部门验收",
                "平台稳定运行，预警处置闭环率100%",
            ],
            ["84.0", "81.0", "77.0", "85.0", "90.0", "95.0"],
            deadline_month=9,
            weight="1.50",
        ),
        _task(
            "环保设施升级改造",
            "完成冶炼废气、废水处理设施升级，主要污染物排放达到特别排放限值。",
            [
                "完成环保设施现状评估和升级改造方案",
                "改造方案通过专家评审，完成设备招标",
                "废水处理设施改造完成，投入试运行",
                "废气脱硫脱硝设施改造完成",
                "全部设施连续稳定运行，监测达标",
                "主要污染物排放达到特别排放限值，通过环保验收",
            ],
            ["83.0", "66.0", "59.9", "78.0", "86.0", "93.0"],
            weight="2.00",
        ),
        _task(
            "隐患排查治理闭环",
            "隐患排查全覆盖，一般隐患整改率100%，重大隐患按期销号。",
            [
                "修订隐患排查治理制度，上线隐患排查APP",
                "完成春季安全大检查，隐患整改率95%",
                "完成汛期专项检查，隐患整改率96%",
                "2项重大隐患整改销号",
                "完成四季度专项检查，一般隐患整改率98%",
                "全年隐患整改率100%，重大隐患全部按期销号",
            ],
            ["90.0", "92.0", "88.0", "91.0", "93.0", "95.0"],
        ),
        _task(
            "应急演练全覆盖",
            "综合应急预案、专项预案演练覆盖率100%，全年组织演练不少于24次。",
            [
                "修订应急预案，制定年度演练计划",
                "完成演练4次，覆盖矿山救援和危化品泄漏",
                "累计完成演练10次，组织防汛专项演练",
                "累计完成演练14次",
                "累计完成演练20次",
                "全年完成演练24次，专项预案演练覆盖率100%",
            ],
            ["95.0", "90.0", "62.0", "88.0", "94.0", "98.0"],
        ),
    ],
    # 技术研发中心: the pilot line's equipment arrives late twice, which goes to accountability.
    "JSZX": [
        _task(
            "高性能材料中试线建设",
            "建成年产200吨高性能钕铁硼中试线，完成联动试车并产出合格样品。",
            [
                "完成中试线可研和立项审批",
                "完成关键设备招标，签订采购合同",
                "厂房改造完成，关键设备到货",
                "设备安装完成70%",
                "设备安装完成，开展单机调试",
                "完成联动试车，产出合格样品",
            ],
            ["86.0", "55.0", "55.0", "68.0", "81.0", "90.0"],
            weight="2.00",
        ),
        _task(
            "专利申请与成果转化",
            "全年申请发明专利40件，完成科技成果转化项目5项。",
            [
                "制定专利布局规划，建立专利挖掘机制",
                "申请发明专利8件",
                "累计申请发明专利18件，成果转化签约2项",
                "累计申请26件，成果转化签约3项",
                "累计申请34件，成果转化签约4项",
                "全年申请发明专利40件，完成成果转化5项",
            ],
            ["76.0", "82.0", "85.0", "88.0", "91.0", "95.0"],
        ),
        _task(
            "关键工艺技术攻关",
            "突破稀土萃取分离连续化和晶界扩散两项关键工艺，形成工艺包并在生产线应用。",
            [
                "确定攻关课题组和技术路线",
                "完成萃取连续化小试",
                "小试指标达标，启动中试",
                "晶界扩散工艺完成中试验证",
                "两项工艺完成中试，形成工艺包",
                "工艺包在生产线应用，通过专家鉴定",
            ],
            ["70.0", "58.0", "75.0", "84.0", "87.0", "92.0"],
            weight="2.00",
        ),
        _task(
            "研发项目管理规范化",
            "修订研发项目管理办法，在研项目100%纳入全流程线上管理。",
            [
                "修订研发项目管理办法",
                "在研项目立项、预算、节点全部录入系统",
                "在研项目100%线上管理，完成首次节点检查",
                "开展研发费用归集专项检查",
                "完成项目中期评估，清理低效项目",
                "形成年度研发项目管理评价报告",
            ],
            ["92.0", "90.0", "93.0", "94.0", "95.0", "96.0"],
            deadline_month=6,
        ),
        _task(
            "产学研合作平台建设",
            "与2所高校共建联合实验室，联合承担省部级项目2项。",
            [
                "确定合作高校，签订合作框架协议",
                "签订联合实验室共建协议",
                "联合实验室挂牌，确定首批研究课题",
                "联合申报省部级项目2项",
                "联合实验室首批课题取得阶段成果",
                "联合承担省部级项目2项，完成年度合作评估",
            ],
            ["88.0", "85.0", "56.0", "72.0", "83.0", "90.0"],
        ),
    ],
    # 市场营销部: new customers come, but the price slump holds payments back.
    "YXB": [
        _task(
            "重点客户开发",
            "新开发新能源汽车、风电领域重点客户10家，新增订单5亿元。",
            [
                "确定目标客户清单，制定开发计划",
                "新开发重点客户2家",
                "累计开发4家，新增订单1.5亿元",
                "累计开发6家，新增订单2.5亿元",
                "累计开发8家，新增订单3.8亿元",
                "全年新开发重点客户10家，新增订单5亿元",
            ],
            ["85.0", "88.0", "91.0", "93.0", "95.0", "97.0"],
            weight="1.50",
        ),
        _task(
            "销售回款率提升",
            "全年销售回款率不低于98%，新增逾期账款为零。",
            [
                "建立客户信用分级和回款责任制",
                "销售回款率达到92%",
                "销售回款率达到94%",
                "销售回款率达到95%，逾期账款逐户清理",
                "销售回款率达到96.5%",
                "全年销售回款率不低于98%，新增逾期账款为零",
            ],
            ["90.0", "82.0", "70.0", "82.0", "58.0", "75.0"],
            weight="2.00",
        ),
        _task(
            "新产品市场推广",
            "3个新产品实现批量销售，新产品销售收入达到2亿元。",
            [
                "制定3个新产品推广方案",
                "新产品完成客户送样和认证",
                "两个新产品进入批量试用",
                "新产品销售收入达到0.8亿元",
                "新产品销售收入达到1.4亿元",
                "3个新产品批量销售，新产品收入达到2亿元",
            ],
            ["72.0", "78.0", "84.0", "86.0", "90.0", "93.0"],
        ),
        _task(
            "客户满意度调查与改进",
            "完成年度客户满意度调查，满意度不低于92分，投诉处理及时率100%。",
            [
                "修订客户满意度调查方案",
                "完成第一轮重点客户走访30家",
                "完成满意度调查，形成问题清单",
                "问题整改完成60%",
                "问题整改完成90%",
                "满意度不低于92分，投诉处理及时率100%",
            ],
            ["93.0", "91.0", "90.0", "92.0", "94.0", "96.0"],
        ),
        _task(
            "营销渠道数字化建设",
            "上线客户关系管理系统和线上订单平台，线上订单占比达到30%。",
            [
                "完成客户关系管理（CRM）系统选型",
                "CRM系统上线，客户信息全部录入",
                "线上订单平台上线试运行",
                "线上订单占比达到15%",
                "线上订单占比达到22%",
                "线上订单占比达到30%",
            ],
            ["83.0", "79.0", "81.0", "85.0", "88.0", "92.0"],
        ),
    ],
    # 纪检监察部: green throughout.
    "JJB": [
        _task(
            "廉洁风险防控体系建设",
            "完成全部关键岗位廉洁风险点排查，风险防控措施覆盖率100%。",
            [
                "制定廉洁风险排查方案",
                "完成本部关键岗位风险点排查",
                "完成子公司风险点排查，汇编风险清单",
                "风险防控措施制定完成",
                "开展防控措施落实情况检查",
                "风险防控措施覆盖率100%，形成年度评估报告",
            ],
            ["92.0", "94.0", "95.0", "96.0", "96.0", "98.0"],
            weight="1.50",
        ),
        _task(
            "专项监督检查",
            "开展招标采购、工程建设、选人用人等5项专项监督检查，发现问题整改率100%。",
            [
                "制定5项专项监督检查计划",
                "完成招标采购专项检查",
                "完成工程建设专项检查",
                "完成选人用人专项检查",
                "完成其余两项专项检查",
                "发现问题整改率100%，形成专项检查报告",
            ],
            ["95.0", "93.0", "94.0", "95.0", "97.0", "98.0"],
        ),
        _task(
            "纪律教育月活动",
            "组织纪律教育学习月活动，党员干部参与率100%，开展警示教育4场。",
            [
                "制定纪律教育学习月活动方案",
                "开展警示教育1场",
                "开展警示教育2场，组织党纪知识测试",
                "纪律教育学习月活动全面开展，参与率100%",
                "开展警示教育4场，完成活动总结",
                "巩固活动成果，建立常态化警示教育机制",
            ],
            ["90.0", "91.0", "93.0", "95.0", "96.0", "97.0"],
            deadline_month=10,
        ),
        _task(
            "信访举报办理规范化",
            "信访举报件100%按期办结，修订信访举报处置流程。",
            [
                "修订信访举报处置流程",
                "上线信访举报台账系统",
                "信访件按期办结率达到95%",
                "按期办结率达到98%",
                "开展信访件办理质量评查",
                "全年信访举报件100%按期办结",
            ],
            ["78.0", "86.0", "90.0", "92.0", "93.0", "95.0"],
        ),
        _task(
            "监督执纪问责台账管理",
            "监督执纪问责台账100%录入、按月更新，问题线索处置率100%。",
            [
                "建立年度监督执纪问责台账",
                "台账录入率100%，按月更新",
                "问题线索处置率达到90%",
                "问题线索处置率达到95%",
                "开展台账专项核查",
                "问题线索处置率100%，台账归档",
            ],
            ["94.0", "95.0", "93.0", "96.0", "97.0", "98.0"],
        ),
    ],
    # 华岭矿业: recovery improves steadily; the flood season stops the tailings works.
    "HLKY": [
        _task(
            "矿山资源储量核实",
            "完成两个矿区资源储量核实报告并通过自然资源部门评审备案。",
            [
                "完成储量核实外业设计和招标",
                "一号矿区野外地质工作完成50%",
                "一号矿区野外工作完成，启动二号矿区",
                "两个矿区野外工作全部完成",
                "完成储量核实报告编制，通过评审",
                "储量核实报告备案，更新资源储量台账",
            ],
            ["88.0", "86.0", "84.0", "89.0", "92.0", "96.0"],
            deadline_month=10,
            weight="1.50",
        ),
        _task(
            "绿色矿山建设",
            "矿区通过国家级绿色矿山遴选评估，复垦绿化面积达到120公顷。",
            [
                "对照绿色矿山标准完成差距评估",
                "完成复垦绿化25公顷，矿区道路硬化",
                "累计复垦绿化55公顷",
                "累计复垦绿化85公顷，数字化矿山系统上线",
                "累计复垦绿化110公顷，提交遴选申请",
                "复垦绿化120公顷，通过国家级绿色矿山遴选评估",
            ],
            ["75.0", "72.0", "68.0", "79.0", "84.0", "90.0"],
            weight="2.00",
        ),
        _task(
            "采矿回采率提升",
            "采矿回采率由86%提升至90%，贫化率控制在8%以内。",
            [
                "完成采矿方法优化方案",
                "回采率达到87%",
                "回采率达到88%",
                "回采率达到88.8%，贫化率降至8.5%",
                "回采率达到89.5%",
                "回采率达到90%，贫化率控制在8%以内",
            ],
            ["65.0", "71.0", "78.0", "83.0", "86.0", "90.0"],
        ),
        _task(
            "矿区安全设施改造",
            "完成主井提升系统、通风系统安全设施改造并通过验收。",
            [
                "完成安全设施改造设计",
                "主井提升系统改造开工",
                "主井提升系统改造完成",
                "通风系统改造完成，组织安全设施验收",
                "改造设施稳定运行",
                "完成年度安全设施运行评估",
            ],
            ["90.0", "85.0", "81.0", "86.0", "90.0", "94.0"],
            deadline_month=9,
        ),
        _task(
            "尾矿库综合治理",
            "完成尾矿库坝体加固和排洪系统改造，尾矿库安全度达到正常库标准。",
            [
                "完成尾矿库安全现状评价",
                "坝体加固工程开工",
                "排洪系统改造完成，主汛期前具备验收条件",
                "坝体加固完成70%",
                "坝体加固和排洪系统全部完工",
                "尾矿库安全度达到正常库标准，通过验收",
            ],
            ["85.0", "63.0", "62.0", "70.0", "82.0", "92.0"],
            weight="1.50",
        ),
    ],
    # 华岭冶炼: a weak start under supervision, green by the autumn.
    "HLYL": [
        _task(
            "冶炼回收率提升",
            "稀土冶炼综合回收率由94%提升至96%。",
            [
                "完成回收率损失点分析",
                "综合回收率达到94.5%",
                "综合回收率达到95%",
                "综合回收率达到95.4%",
                "综合回收率达到95.8%",
                "综合回收率达到96%",
            ],
            ["55.0", "62.0", "75.0", "84.0", "88.0", "92.0"],
            weight="2.00",
        ),
        _task(
            "冶炼车间自动化改造",
            "萃取车间、焙烧车间完成自动化改造，关键岗位操作人员减少30%。",
            [
                "完成自动化改造方案评审",
                "萃取车间DCS系统设备采购",
                "萃取车间自动化改造完成",
                "焙烧车间自动化改造完成50%",
                "焙烧车间自动化改造完成",
                "两个车间稳定运行，关键岗位减员30%",
            ],
            ["45.0", "57.0", "70.0", "81.0", "86.0", "93.0"],
            weight="1.50",
        ),
        _task(
            "危废规范化处置",
            "危险废物100%规范贮存、依法转移处置，通过危废规范化管理考核。",
            [
                "完成危废产生源排查，建立管理台账",
                "危废贮存库改造完成",
                "危废转移联单电子化100%",
                "上半年危废依法处置率100%",
                "迎接危废规范化管理考核",
                "全年危废依法处置率100%，考核达标",
            ],
            ["70.0", "76.0", "85.0", "89.0", "92.0", "96.0"],
        ),
        _task(
            "冶炼成本对标降本",
            "冶炼单位加工成本较上年下降8%，达到行业先进水平。",
            [
                "完成与行业先进企业成本对标，确定降本清单",
                "单位加工成本下降2%",
                "单位加工成本下降3.5%",
                "单位加工成本下降5%",
                "单位加工成本下降6.5%",
                "单位加工成本较上年下降8%",
            ],
            ["62.0", "68.0", "74.0", "82.0", "85.0", "90.0"],
            weight="1.50",
        ),
        _task(
            "产品质量一次合格率提升",
            "主要产品一次合格率由97.5%提升至99%。",
            [
                "完成质量问题统计分析，制定提升措施",
                "一次合格率达到98%",
                "一次合格率达到98.3%",
                "一次合格率达到98.6%",
                "一次合格率达到98.8%",
                "一次合格率达到99%",
            ],
            ["81.0", "85.0", "88.0", "91.0", "93.0", "95.0"],
        ),
    ],
    # 华岭磁材: the expansion slips mid-year; exports fall away under trade barriers.
    "HLCC": [
        _task(
            "磁材产能扩建项目",
            "新增高性能钕铁硼毛坯产能3000吨/年，项目竣工投产。",
            [
                "取得项目环评和能评批复",
                "厂房主体结构施工",
                "厂房封顶，主要设备订货",
                "设备进场安装",
                "设备调试，开始试生产",
                "项目竣工投产，新增产能3000吨/年",
            ],
            ["88.0", "75.0", "57.0", "66.0", "78.0", "88.0"],
            weight="2.00",
        ),
        _task(
            "高端磁材产品认证",
            "取得IATF 16949认证，2个产品通过新能源汽车客户认证。",
            [
                "启动IATF 16949体系建设",
                "完成体系文件编制和内审",
                "通过IATF 16949第一阶段审核",
                "取得IATF 16949认证证书",
                "1个产品通过客户认证",
                "2个产品通过新能源汽车客户认证",
            ],
            ["82.0", "86.0", "90.0", "92.0", "94.0", "97.0"],
        ),
        _task(
            "智能制造示范产线",
            "建成1条磁材智能制造示范产线，人均效率提升30%，申报省级智能制造示范。",
            [
                "完成示范产线规划设计",
                "签订设备采购合同",
                "自动化设备进场安装",
                "制造执行系统（MES）上线",
                "产线试运行，人均效率提升20%",
                "人均效率提升30%，申报省级智能制造示范",
            ],
            ["84.0", "78.0", "72.0", "81.0", "85.0", "91.0"],
            weight="1.50",
        ),
        _task(
            "出口订单拓展",
            "全年出口订单达到1.5亿元，新开发海外客户5家。",
            [
                "制定海外市场拓展计划",
                "出口订单2500万元，新开发海外客户1家",
                "累计出口订单5500万元",
                "累计出口订单8500万元，新开发海外客户3家",
                "累计出口订单1.2亿元",
                "全年出口订单1.5亿元，新开发海外客户5家",
            ],
            ["92.0", "81.0", "65.0", "45.0", "50.0", "70.0"],
            weight="1.50",
        ),
        _task(
            "研发投入强度提升",
            "研发投入强度达到4.5%，研发费用加计扣除应享尽享。",
            [
                "制定年度研发投入计划",
                "研发投入强度达到3.5%",
                "研发投入强度达到3.8%",
                "研发投入强度达到4.1%",
                "研发投入强度达到4.3%",
                "研发投入强度达到4.5%，完成加计扣除申报",
            ],
            ["86.0", "84.0", "82.0", "85.0", "88.0", "92.0"],
        ),
    ],
}

# Why a task fell short, as its department explains it (self-assessment accounts) and the
# discipline office hears it (interviews, rectification).
SHORTFALLS = {
    "总部办公用房优化调整": "装修招标首次流标，重新招标推迟了施工",
    "档案数字化整理": "外包服务单位扫描人员不足，科技档案整理滞后",
    "职工之家建设提升": "改造预算审批推迟，部分点位开工滞后",
    "全面预算管理系统上线": "系统与财务核算接口联调问题较多，子公司上线推迟",
    "应收账款压降专项行动": "下游客户资金紧张，两家重点欠款单位以承兑汇票展期",
    "财务共享中心建设": "共享中心人员到岗不足，子公司核算业务迁移滞后",
    "三项制度改革深化": "竞争上岗方案征求意见时间较长，子公司推进不平衡",
    "薪酬绩效体系优化": "方案测算分歧较大，职工代表大会审议推迟",
    "主要产品产量计划完成": "两条产线轮流检修，稀土原料到货不均衡",
    "生产设备完好率提升": "老旧焙烧窑故障频发，备件采购周期长",
    "能耗指标下降专项": "余热回收项目调试延期，低负荷运行推高单耗",
    "生产调度系统升级": "子公司数据接口改造滞后，开发单位人员不足",
    "重大危险源在线监测": "两处危险源现场改造与生产交叉，接入推迟",
    "环保设施升级改造": "环保督察期间停产整改，设备安装窗口推迟",
    "应急演练全覆盖": "执行集团防汛统一部署，专项演练推迟",
    "高性能材料中试线建设": "关键设备供应商交货延期，采购合同执行跟踪不力",
    "专利申请与成果转化": "专利代理机构更换，首批申请提交推迟",
    "关键工艺技术攻关": "小试指标波动，技术路线作了调整",
    "产学研合作平台建设": "合作高校审批流程较长，联合实验室挂牌推迟",
    "销售回款率提升": "稀土价格下行，下游客户压款，部分回款为未到期承兑汇票",
    "新产品市场推广": "客户认证周期长于预期",
    "营销渠道数字化建设": "CRM系统数据迁移出现问题，客户信息录入推迟",
    "信访举报办理规范化": "台账系统上线前纸质件流转较慢",
    "绿色矿山建设": "复垦用地审批推迟，雨季影响绿化施工",
    "采矿回采率提升": "深部矿体品位变化，采矿方法优化方案调整",
    "尾矿库综合治理": "汛期强降雨导致坝体加固施工中断",
    "冶炼回收率提升": "原料品位波动，萃取槽体改造未完成",
    "冶炼车间自动化改造": "DCS系统设备到货延迟，改造与生产交叉影响施工",
    "危废规范化处置": "危废贮存库改造审批推迟",
    "冶炼成本对标降本": "辅料价格上涨，降本措施见效滞后",
    "磁材产能扩建项目": "进口设备报关延误，安装进度滞后",
    "智能制造示范产线": "MES系统与设备联调问题较多",
    "出口订单拓展": "海外贸易壁垒加严，出口许可审批周期延长，主要客户订单推迟",
}
DEFAULT_SHORTFALL = "部分工作进度滞后于计划"


def shortfall(title):
    """The department's account of why a task fell short."""
    return SHORTFALLS.get(title, DEFAULT_SHORTFALL)


def demo_task(title):
    """The DemoTask of a title, or None for a task the demo does not know."""
    return _BY_TITLE.get(title)


_BY_TITLE = {task.title: task for tasks in TASKS.values() for task in tasks}


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


# The task library (任务库): recurring tasks departments pick from when they draft a list.
LIBRARY = (
    ("安全生产标准化达标", "通过安全生产标准化二级复评，全年无较大及以上安全事故", 2),
    ("党风廉政建设责任制落实", "签订责任书，开展廉洁风险排查，全年无违纪违法案件", 1),
    ("年度预算执行", "预算执行偏差率不超过5%，重大事项按规定报批", 1),
)


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
    for code, specs in TASKS.items():
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

        for index, spec in enumerate(specs):
            task, _ = KeyTask.objects.get_or_create(
                year=year,
                department=department,
                title=spec.title,
                defaults={
                    "standard": spec.standard,
                    "owner": owners[index % 2],
                    "deadline": _month_end(year.year, spec.deadline_month),
                    "weight": Decimal(spec.weight),
                },
            )
            StageTarget.objects.bulk_create(
                [StageTarget(task=task, stage=stage, description=spec.targets[stage.number - 1]) for stage in stages],
                ignore_conflicts=True,
            )
            SelfAssessment.objects.bulk_create(
                [_past_assessment(task, spec, stage, index, latest=stage == past_stages[-1]) for stage in past_stages],
                ignore_conflicts=True,
            )
    for title, standard, weight in LIBRARY:
        LibraryTask.objects.get_or_create(
            title=title,
            defaults={
                "standard": standard,
                "weight": weight,
                "targets": [f"第{n}阶段：{title}按计划推进，完成{round(100 * n / 6)}%" for n in range(1, 7)],
            },
        )
    return year


def _past_assessment(task, spec, stage, index, *, latest):
    number = stage.number
    score = spec.scores[number - 1]
    # Now and then a department handed its self-assessment in two days late.
    days_after_due = 2 if (index + number + len(spec.title)) % 7 == 0 else -1
    submitted_on = stage.self_assessment_due + datetime.timedelta(days=days_after_due)
    submitted_at = timezone.make_aware(datetime.datetime.combine(submitted_on, datetime.time(17, 0)))
    # The latest past stage still waits for the division leader; earlier ones are confirmed.
    state = SelfAssessment.State.SUBMITTED if latest else SelfAssessment.State.CONFIRMED
    return SelfAssessment(
        task=task,
        stage=stage,
        completion=score,
        account=_account(spec, number, score),
        state=state,
        submitted_at=submitted_at,
        submitted_by=task.owner,
    )


def _account(spec, number, score):
    """The department's short account of a stage, in the words such accounts use."""
    target = spec.targets[number - 1]
    colour = classify(score).value
    if score == 100:
        return f"本阶段目标“{target}”已全面完成，佐证材料已上传。"
    if colour == "green":
        return f"本阶段目标“{target}”基本完成，完成率{score}%，详见佐证材料。"
    if colour == "yellow":
        return f"本阶段目标“{target}”完成{score}%，进度滞后：{shortfall(spec.title)}。已制定追赶措施。"
    return f"本阶段目标“{target}”仅完成{score}%，未达要求：{shortfall(spec.title)}。正在制定整改方案。"


def _month_end(year, month):
    next_month = datetime.date(year + month // 12, month % 12 + 1, 1)
    return next_month - datetime.timedelta(days=1)
