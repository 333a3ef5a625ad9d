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
    }
