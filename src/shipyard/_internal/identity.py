"""Who is calling and what a role allows: the identity the service kernel checks.

It lives below every capability because ``ServiceContext.require`` needs it and
every capability (``security`` included) builds on that kernel. Its public home
is ``shipyard.security.models``, which re-exports it.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

#: A membership in this team applies to every team.
ALL_TEAMS = "*"


class Permission(StrEnum):
    READ = "read"
    WRITE = "write"
    PREDICT = "predict"
    READ_FEATURES = "read_features"
    APPROVE = "approve"
    #: Serve a team's model versions from a deployment (any team's deployment).
    DEPLOY = "deploy"
    ADMIN = "admin"


class Role(StrEnum):
    VIEWER = "viewer"
    PREDICTOR = "predictor"
    EDITOR = "editor"
    APPROVER = "approver"
    ADMIN = "admin"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset({Permission.READ}),
    Role.PREDICTOR: frozenset({Permission.READ, Permission.PREDICT, Permission.READ_FEATURES}),
    Role.EDITOR: frozenset(
        {
            Permission.READ,
            Permission.WRITE,
            Permission.PREDICT,
            Permission.READ_FEATURES,
            Permission.DEPLOY,
        }
    ),
    Role.APPROVER: frozenset({Permission.READ, Permission.APPROVE}),
    Role.ADMIN: frozenset(Permission),
}


class Principal(BaseModel):
    """Who is calling: a user or a service account, with a role per team."""

    id: str
    name: str
    kind: str = "user"
    roles: dict[str, Role] = Field(default_factory=dict)

    def permissions(self, team: str) -> frozenset[Permission]:
        perms: set[Permission] = set()
        for t in (team, ALL_TEAMS):
            role = self.roles.get(t)
            if role is not None:
                perms |= ROLE_PERMISSIONS[role]
        return frozenset(perms)

    def can(self, permission: Permission, team: str) -> bool:
        return permission in self.permissions(team)

    @property
    def is_admin(self) -> bool:
        return self.roles.get(ALL_TEAMS) == Role.ADMIN
