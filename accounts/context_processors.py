from accounts.models import Role


def membership(request):
    member = getattr(request, "membership", None)
    return {
        "membership": member,
        "agency": getattr(request, "agency", None),
        "memberships": getattr(request, "memberships", []),
        "Role": Role,
        "can_administer": bool(member and member.role == Role.ADMINISTRATOR),
        "can_read_record": bool(member and member.role in (Role.AUDITOR, Role.ADMINISTRATOR)),
        # P2: the desk's queue is for those who approve, and auditors who read it.
        "can_see_approvals": bool(member and member.role != Role.USER),
        "unread_notifications": _unread(member),
    }


def _unread(member):
    if member is None:
        return 0
    from accounts.notifications import unread_count

    return unread_count(member)
