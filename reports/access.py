"""Who reads the reports, and who approves and publishes the 红黑榜."""

from lightboard.roles import Role, has_role


def may_publish_honour_roll(user):
    """The leadership group approves the 红黑榜 and publishes it to everyone."""
    return has_role(user, Role.LEADERSHIP)
