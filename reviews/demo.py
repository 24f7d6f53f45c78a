"""Demo data of the reviews app on top of tasks.demo: the year's confirmations, its review
meetings held and closed, and the follow-up cases of those meetings worked by the discipline
inspection office the way it would; the latest past stage's meeting is scheduled.

Every step of a meeting and of a case goes through the project's services (reviews.services,
reviews.cases), so the audit trail, the numbered letters and the notifications are real. Each
step is taken as on its day (`as_on`: a meeting on its date, a letter two days later, the
interview a week after the meeting, ...), so cases fall due counted from their meeting and only
the steps whose day has come are taken; the times the services record are "now".

The story the cases tell (with the demo pinned to late November, stage 6):
- yellow results got a reminder; most owners answered with a catch-up plan and the office
  closed the case once the gap was made up or the plan was in hand;
- red results got a supervision letter, an interview with its notice and record, the owner's
  rectification and a conclusion; 高性能材料中试线建设, red at stages 2 and 3, went to
  accountability after its second interview;
- of the stage-4 meeting's cases, two are still open and overdue (生产运营部's output, behind
  after the overhauls; 华岭磁材's exports); after that meeting 销售回款率提升 was found to be
  overstated, its rating amended from green to red and a new supervision case opened.
"""

import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from lightboard import clock
from lightboard.lights import light_of
from tasks import services as task_services
from tasks.demo import demo_task, shortfall
from tasks.models import AssessmentYear, AuditEntry, Department, SelfAssessment, StageTarget, User

from . import access, cases, services
from .models import Confirmation, FollowUp, Rating, ReviewMeeting

PLACE = "集团总部三楼会议室"
# 华岭稀土贸易 runs its own cycle: its own chair, inspector and meeting room.
SUBSIDIARY_CYCLE = "HLXT"
SUBSIDIARY_PLACE = "华岭稀土贸易二楼会议室"
SUBSIDIARY_ATTENDEES = ["leadership.hlxt", "leader.hlxt", "inspector.hlxt"]
INTERVIEW_PLACE = "纪检监察部会议室"
ATTENDEES = ["leadership", "leader", "zhou.wenhua", "sun.lixin", "inspector"]
DECISIONS = {
    "red": "发函督办，约谈责任人，限期整改",
    "red_again": "连续两次红灯：发函督办，约谈责任人及分管负责人，限期整改，视整改情况启动问责程序",
    "yellow": "纪检部门提醒督促，下阶段重点跟踪",
}

# (task title, stage number) -> (confirmed score, the division leader's reason)
ADJUSTED_CONFIRMATIONS = {
    ("财务共享中心建设", 3): ("52.0", "核算业务仅完成本部迁移，两家子公司尚未切换，自评偏高"),
    ("尾矿库综合治理", 3): ("48.0", "排洪系统改造未完工，主汛期前不具备验收条件，自评偏高"),
}
# (task title, stage number) -> (final score, the leadership group's reason)
GROUP_SCORES = {
    ("高性能材料中试线建设", 3): ("42.0", "关键设备仍未到货，连续两个阶段未完成节点，综合评价下调"),
    ("应急演练全覆盖", 3): ("81.0", "演练推迟系执行集团防汛统一部署，经领导小组研究不予扣分"),
}
# Ratings corrected after their meeting: (task title, stage number) -> (score, reason)
AMENDMENTS = {
    ("销售回款率提升", 4): (
        "56.0",
        "会后财务部对账发现1800万元回款为未到期商业承兑汇票，按实际到账口径重新核定",
    ),
}
# Cases that went to accountability after the interview.
ESCALATED = {("高性能材料中试线建设", 3)}
# Cases still being rectified (and so, by now, overdue).
STILL_RECTIFYING = {("主要产品产量计划完成", 4), ("出口订单拓展", 4)}

# The days after its meeting on which the office takes the steps of a case: the reminder or
# the supervision letter (with the interview set), the interview, the owner's rectification,
# closing (before the case falls due: 15 days for a reminder, 30 for a letter), escalation.
LETTER_DAY = 2
INTERVIEW_DAY = 7
RECTIFIED_DAY = {FollowUp.Kind.REMINDER: 8, FollowUp.Kind.SUPERVISION: 14}
# The inspector reviews the plan or the answer; a red case's report follows, and is reviewed.
REVIEWED_DAY = {FollowUp.Kind.REMINDER: 10, FollowUp.Kind.SUPERVISION: 17}
REPORTED_DAY = 22
REPORT_REVIEWED_DAY = 25
CLOSED_DAY = {FollowUp.Kind.REMINDER: 13, FollowUp.Kind.SUPERVISION: 27}
ESCALATION_DAY = 14
# A rating is amended this many days before the demo's today.
AMENDED_DAYS_AGO = 6


def as_on(day):
    """Take a step as on `day`: the services read the date from lightboard.clock, so a meeting's
    cases fall due counted from its day and an interview is set after its letter, as they were
    at the time. The times the services record ("now") stay now."""
    return clock.as_of(day)


@transaction.atomic
def load_review_demo(year, today=None):
    """Last year in full (six meetings of each cycle, their cases worked to the end); this
    year, confirm the past stages, hold and close the meetings of all but the latest, work
    their follow-up cases, and schedule the latest past stage's meeting. The demo leader keeps
    that stage's assessments in their queue. 华岭稀土贸易 holds its own meetings beside the
    group's. Idempotent: a meeting already closed is left alone."""
    today = today or clock.today()
    people = {user.username: user for user in User.objects.filter(username__in=ATTENDEES + SUBSIDIARY_ATTENDEES)}
    subsidiary = Department.objects.filter(code=SUBSIDIARY_CYCLE, runs_own_cycle=True).first()
    cycles = [(None, "leadership", "inspector", ATTENDEES)]
    if subsidiary is not None:
        cycles.append((subsidiary, "leadership.hlxt", "inspector.hlxt", SUBSIDIARY_ATTENDEES))
    last = AssessmentYear.objects.filter(year=year.year - 1).first()
    if last is not None:
        for stage in last.stages.order_by("number"):
            _confirm_all(stage, exclude_leader=None, adjusted={})
            for unit, chair, inspector, attendees in cycles:
                meeting = _meeting_of(stage, unit, people, chair, attendees)
                if meeting.state != ReviewMeeting.State.CLOSED:
                    with as_on(meeting.date):
                        _hold(meeting, people[chair], overrides={})
                    _follow_up(meeting, today, people, inspector=people[inspector], story=False)
    past = [stage for stage in year.stages.order_by("number") if stage.self_assessment_due < today]
    if not past:
        return
    *held, latest = past
    for stage in held:
        _confirm_all(stage, exclude_leader=None)
        for unit, chair, inspector, attendees in cycles:
            meeting = _meeting_of(stage, unit, people, chair, attendees)
            if meeting.state == ReviewMeeting.State.CLOSED:
                continue
            with as_on(meeting.date):
                _hold(meeting, people[chair])
            _follow_up(meeting, today, people, inspector=people[inspector], story=unit is None)
            if unit is None:
                _amend(meeting, today, people)
                _discuss(meeting, people)
                _request_changes(meeting, people, approve=stage != held[-1])
    # The latest stage: the other divisions are confirmed; the demo leader's wait in the queue.
    _confirm_all(latest, exclude_leader="leader")
    for unit, chair, _inspector, attendees in cycles:
        _meeting_of(latest, unit, people, chair, attendees)


def _meeting_of(stage, unit, people, chair, attendees):
    """The stage's meeting of a cycle, scheduled by its chair if it is not yet."""
    return ReviewMeeting.objects.filter(stage=stage, unit=unit).first() or services.schedule_meeting(
        stage=stage,
        unit=unit,
        date=stage.meeting_date,
        place=PLACE if unit is None else SUBSIDIARY_PLACE,
        attendees=[people[name] for name in attendees if name in people],
        by=people[chair],
    )


def _confirm_all(stage, *, exclude_leader, adjusted=None):
    adjusted_confirmations = ADJUSTED_CONFIRMATIONS if adjusted is None else adjusted
    assessments = SelfAssessment.objects.filter(stage=stage, confirmation__isnull=True).select_related(
        "task__department__division_leader"
    )
    if exclude_leader:
        assessments = assessments.exclude(task__department__division_leader__username=exclude_leader)
    confirmations = []
    for assessment in assessments:
        leader = assessment.task.department.division_leader
        adjusted = adjusted_confirmations.get((assessment.task.title, stage.number))
        score, reason = adjusted or (assessment.completion, "")
        confirmations.append(
            Confirmation(assessment=assessment, score=Decimal(score), reason=reason, confirmed_by=leader)
        )
    Confirmation.objects.bulk_create(confirmations)
    SelfAssessment.objects.filter(pk__in=[c.assessment_id for c in confirmations]).update(
        state=SelfAssessment.State.CONFIRMED
    )
    # The demo's history shows who confirmed, as the confirmation service would record it.
    AuditEntry.objects.bulk_create(
        AuditEntry(
            actor=c.confirmed_by,
            action="adjust self-assessment" if c.reason else "confirm self-assessment",
            subject_type="selfassessment",
            subject_id=c.assessment_id,
            task_id=c.assessment.task_id,
            before={"state": SelfAssessment.State.SUBMITTED, "confirmed_score": None},
            after={"state": SelfAssessment.State.CONFIRMED, "confirmed_score": str(c.score)},
            reason=c.reason,
        )
        for c in confirmations
    )


def _hold(meeting, chair, overrides=None):
    """The meeting: every yellow and red task gets a decision and the next stage's key work,
    a few scores are set apart from the confirmed one with a reason, then it closes."""
    overrides = GROUP_SCORES if overrides is None else overrides
    stage = meeting.stage
    year = stage.year
    services.open_meeting(meeting=meeting, by=chair)
    next_targets = dict(
        StageTarget.objects.filter(stage__year=year, stage__number=stage.number + 1).values_list(
            "task_id", "description"
        )
    )
    previous_reds = cases.red_at_previous_meeting(stage)
    for rating in meeting.ratings.select_related("task").order_by("task__department__code", "task_id"):
        final, reason = overrides.get((rating.task.title, stage.number), (rating.final_score, ""))
        colour = light_of(final, year)
        if not reason and colour == Rating.Colour.GREEN:
            continue  # prefilled with the confirmed score; nothing to decide
        if colour == Rating.Colour.RED:
            decision = DECISIONS["red_again" if rating.task_id in previous_reds else "red"]
        else:
            decision = DECISIONS.get(colour, "")
        next_work = next_targets.get(rating.task_id, "")
        if next_work and colour != Rating.Colour.GREEN:
            next_work = f"{next_work}；同时补齐本阶段进度缺口"
        services.set_rating(
            rating_id=rating.pk,
            version=rating.version,
            final_score=final,
            score_reason=reason,
            decision=decision,
            next_stage_target=next_work,
            by=chair,
        )
    services.close_meeting(meeting=meeting, by=chair)


def _follow_up(meeting, today, people, *, inspector, story=True):
    """The inspector works the meeting's cases, each step on its day after the meeting and
    only once that day has come: a case of a meeting long past has run its course (closed,
    escalated, or still being rectified as the story says); a recent one is under way.
    Without the story (last year, the subsidiary's cycle) every case runs its plain course."""
    number = meeting.stage.number
    to_work = (
        FollowUp.objects.filter(rating__meeting=meeting)
        .select_related("rating__task__owner", "rating__task__department__division_leader")
        .order_by("rating__task__department__code", "rating__task_id")
    )
    for index, case in enumerate(to_work):
        key = (case.rating.task.title, number)
        _work(
            case,
            meeting,
            today,
            inspector,
            escalate=story and key in ESCALATED,
            keep_rectifying=story and key in STILL_RECTIFYING,
            # Most owners answer a reminder; a few yellow gaps close on the reminder alone (with a reason).
            plan=case.kind == FollowUp.Kind.SUPERVISION or index % 3 != 2 or key in STILL_RECTIFYING,
            # Owners acknowledge (签收) their letters the next day; one in four has not yet.
            acknowledge=index % 4 != 1,
        )


def _work(case, meeting, today, inspector, *, escalate, keep_rectifying, plan, acknowledge):
    def day(after):
        """The day of a step `after` days after the meeting, or None while it is still to come."""
        when = meeting.date + datetime.timedelta(days=after)
        return when if when <= today else None

    kind = case.kind
    task = case.rating.task
    if not (when := day(LETTER_DAY)):
        return
    with as_on(when):
        if kind == FollowUp.Kind.REMINDER:
            case = cases.send_reminder(case_id=case.pk, version=case.version, by=inspector)
        else:
            case = cases.issue_supervision_letter(case_id=case.pk, version=case.version, by=inspector)
            case = _schedule_interview(case, meeting, inspector)
    if acknowledge and (when := day(LETTER_DAY + 1)):
        with as_on(when):
            for letter in case.letters.order_by("pk"):
                cases.acknowledge_letter(letter_id=letter.pk, by=task.owner)
    if kind == FollowUp.Kind.SUPERVISION:
        if not (when := day(INTERVIEW_DAY)):
            return
        with as_on(when):
            case = cases.record_interview(
                case_id=case.pk, version=case.version, record=_interview_record(task), by=inspector
            )
        if escalate:
            if when := day(ESCALATION_DAY):
                with as_on(when):
                    case = cases.escalate(
                        case_id=case.pk, version=case.version, reason=_escalation_reason(case), by=inspector
                    )
            if when := day(ESCALATION_DAY + 7):
                with as_on(when):
                    cases.decide_accountability(
                        case_id=case.pk, version=case.version, decision="经研究，对责任人予以通报批评。", by=inspector
                    )
            return
    if plan:
        if not (when := day(RECTIFIED_DAY[kind])):
            return
        with as_on(when):
            case = _answer(case)
        if not (when := day(REVIEWED_DAY[kind])) or (keep_rectifying and kind == FollowUp.Kind.REMINDER):
            return
        with as_on(when):
            case = _accept_latest(case, inspector)
        if kind == FollowUp.Kind.SUPERVISION:
            if not (when := day(REPORTED_DAY)):
                return
            with as_on(when):
                case = _report(case, done=not keep_rectifying)
            if keep_rectifying or not (when := day(REPORT_REVIEWED_DAY)):
                return
            with as_on(when):
                case = _accept_latest(case, inspector)
    if keep_rectifying or not (when := day(CLOSED_DAY[kind])):
        return
    with as_on(when):
        reason = "" if plan else f"第{case.rating.meeting.stage.number}阶段差距较小，经提醒后已跟上进度，无需书面说明。"
        cases.close_case(
            case_id=case.pk, version=case.version, conclusion=_conclusion(case), reason=reason, by=inspector
        )


def _discuss(meeting, people):
    """After the meeting: the chair gives an instruction (批示) on its first red task, which the
    next meeting's minutes list; on each red case still open the inspector @mentions the owner
    in the case's discussion and the owner answers."""
    reds = meeting.ratings.filter(colour=Rating.Colour.RED).select_related("task__owner").order_by("task_id")
    first = reds.first()
    if first is not None:
        task = first.task
        task_services.post_comment(
            task=task,
            by=people["leadership"],
            text=f"请{task.owner.name}同志高度重视：{shortfall(task.title)}，下次例会前报告整改进展。",
            instruction=True,
        )
    still_open = FollowUp.objects.filter(rating__in=reds).exclude(state__in=cases.CLOSED_STATES)
    for case in still_open.select_related("rating__task__owner"):
        owner = case.rating.task.owner
        thread = access.case_thread(case)
        task_services.post_comment(
            task=case.rating.task,
            thread=thread,
            by=people["inspector"],
            text=f"@{owner.name or owner.username} 请按督办函要求按期报送整改报告，并附佐证材料。",
        )
        task_services.post_comment(
            task=case.rating.task, thread=thread, by=owner, text="收到。本周内报送整改报告和现场照片。"
        )


def _request_changes(meeting, people, *, approve):
    """After the meeting the owner of its first yellow task asks to change the next stage's
    target: approved after the earlier meetings (the next minutes list it), awaiting the
    leadership group after the latest."""
    yellow = meeting.ratings.filter(colour=Rating.Colour.YELLOW).select_related("task__owner")
    rating = yellow.order_by("task_id").first()
    next_stage = meeting.stage.year.stages.filter(number=meeting.stage.number + 1).first()
    if rating is None or next_stage is None or rating.task.change_requests.exists():
        return
    task = rating.task
    current = StageTarget.objects.filter(task=task, stage=next_stage).values_list("description", flat=True).first()
    with as_on(meeting.date + datetime.timedelta(days=1)):
        _ask_and_decide(task, next_stage, current, people, approve=approve)


def _ask_and_decide(task, next_stage, current, people, *, approve):
    request = task_services.request_change(
        task=task,
        by=task.owner,
        kind="target",
        stage=next_stage,
        new_text=f"{current or task.title}（其中受外部条件影响部分顺延至下一阶段）",
        reason=f"{shortfall(task.title)}，外部条件短期内无法改变，申请调整第{next_stage.number}阶段目标。",
    )
    if approve:
        task_services.decide_change(request_id=request.pk, by=people["leadership"], approve=True, comment="同意调整。")


def _schedule_interview(case, meeting, inspector):
    task = case.rating.task
    at = timezone.make_aware(
        datetime.datetime.combine(meeting.date + datetime.timedelta(days=INTERVIEW_DAY), datetime.time(9, 30))
    )
    leader = task.department.division_leader
    return cases.schedule_interview(
        case_id=case.pk,
        version=case.version,
        at=at,
        place=INTERVIEW_PLACE,
        participants=f"{inspector.name}、{task.owner.name}、{leader.name}",
        by=inspector,
    )


def _interview_record(task):
    leader = task.department.division_leader
    return (
        f"{task.owner.name}说明：{shortfall(task.title)}。纪检监察部指出本阶段目标未完成、过程督导不到位，"
        f"要求十个工作日内报送整改方案。{leader.name}表示将每周调度整改进度；责任人接受督办，承诺按期整改。"
    )


def _answer(case):
    """The owner answers: a red case's rectification plan, a yellow case's explanation."""
    task = case.rating.task
    gap = shortfall(task.title)
    if case.kind == FollowUp.Kind.SUPERVISION:
        return cases.submit_plan(
            case_id=case.pk,
            version=case.version,
            text=f"针对“{gap}”：倒排工期、挂图作战，逐周明确节点和责任人，分管领导每周调度一次，"
            "每月向纪检监察部报送整改进展。",
            responsible=task.owner.name,
            target_date=clock.today() + datetime.timedelta(days=30),
            by=task.owner,
        )
    return cases.submit_answer(
        case_id=case.pk,
        version=case.version,
        text=f"本阶段主要差距：{gap}。",
        catch_up="制定追赶计划，每两周向分管领导报告进度。",
        by=task.owner,
    )


def _report(case, *, done):
    """The owner reports how far the rectification has got."""
    text = (
        "整改措施已全部落实，本阶段进度缺口已补齐。"
        if done
        else "整改措施正在落实，进度缺口尚未补齐，已申请延至下阶段末完成。"
    )
    return cases.submit_report(case_id=case.pk, version=case.version, text=text, by=case.rating.task.owner)


def _accept_latest(case, inspector):
    """The inspector accepts what awaits review."""
    item = case.rectifications.filter(state="submitted").latest("pk")
    return cases.review_rectification(
        case_id=case.pk, version=case.version, rectification=item.pk, decision="accept", comment="", by=inspector
    )


def _conclusion(case):
    task = case.rating.task
    number = case.rating.meeting.stage.number
    spec = demo_task(task.title)
    later = spec.scores[number] if spec is not None and number < len(spec.scores) else None
    year = case.rating.meeting.stage.year
    if later is not None and light_of(later, year) == Rating.Colour.GREEN:
        gap = f"第{number + 1}阶段自评完成{later}%，进度缺口已补齐"
    else:
        gap = "追赶计划已落实并按期报送进展，后续纳入下阶段跟踪"
    if case.kind == FollowUp.Kind.SUPERVISION:
        return f"责任人已按约谈要求完成整改，{gap}，督办事项办结。"
    return f"经提醒督促，{gap}，提醒事项办结。"


def _escalation_reason(case):
    rating = case.rating
    earlier = (
        Rating.objects.filter(
            task_id=rating.task_id, meeting__stage__year_id=rating.meeting.stage.year_id, colour=Rating.Colour.RED
        )
        .exclude(pk=rating.pk)
        .order_by("meeting__stage__number")
        .select_related("meeting__stage")
    )
    reds = "、".join(f"第{r.meeting.stage.number}阶段{r.final_score}%" for r in [*earlier, rating])
    return (
        f"红灯（{reds}）。经发函督办和约谈，{shortfall(rating.task.title)}的问题仍未解决，"
        "责任落实不到位，报请集团启动问责程序。"
    )


def _amend(meeting, today, people):
    """A rating found wrong after its meeting is amended; the office takes up the case it opens."""
    when = max(meeting.date + datetime.timedelta(days=1), today - datetime.timedelta(days=AMENDED_DAYS_AGO))
    for (title, number), (score, reason) in AMENDMENTS.items():
        if number != meeting.stage.number or when > today:
            continue
        rating = Rating.objects.filter(meeting=meeting, task__title=title).first()
        if rating is None or rating.final_score == Decimal(score):
            continue
        with as_on(when):
            services.amend_rating(
                rating_id=rating.pk, version=rating.version, final_score=score, reason=reason, by=people["leadership"]
            )
            case = FollowUp.objects.filter(rating=rating).first()
            if case is not None and case.state == FollowUp.State.OPEN and case.kind == FollowUp.Kind.SUPERVISION:
                cases.issue_supervision_letter(case_id=case.pk, version=case.version, by=people["inspector"])
