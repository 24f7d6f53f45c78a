"""Who reads the reports, and who approves and publishes the 红黑榜."""

from lightboard.roles import Role, has_role
from tasks.access import covers_cycle


def may_publish_honour_roll(user, meeting):
    """The leadership group of a meeting's cycle (or above it) approves its 红黑榜 and
    publishes it to everyone."""
    return has_role(user, Role.LEADERSHIP) and covers_cycle(user, meeting.unit_id)
