"""Identity: the department tree, users and their roles, AB岗 backups, sign-in with lockout, API tokens.

A user holds roles in a department; each puts them in the candidate group `role@department` that diagrams
offer tasks to (e.g. `reviewer@qx-scjg`). While A is absent, A's backup B acts with A's groups as well, and
every action B takes on A's work is recorded as "B for A".
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import String, bindparam, cast, delete, func, null, or_, select, union_all

from engine.departments import DepartmentDirectory, DepartmentInfo  # noqa: F401 - DepartmentInfo: part of this API
from engine.errors import GovflowError, InvalidData, NotFound
from engine.local_time import shown_with_offset
from engine.roles import RoleDirectory, check_role_codes, ensure_roles
from engine.store.identity import ROLES, Absence, ApiToken, Department, LoginFailure, Membership
from engine.store.identity import User as UserRow

MAX_FAILURES = 5
LOCKOUT_WINDOW = timedelta(minutes=15)
TOKEN_LIFETIME = timedelta(hours=12)
MIN_PASSWORD_LENGTH = 8
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class AuthenticationFailed(GovflowError):
    """Wrong user name or password, or an unknown or expired token. Never says which."""

    http_status = 401


class AccountLocked(AuthenticationFailed):
    """Too many failed sign-ins in a short time; `until` is when the account opens again."""

    http_status = 429

    def __init__(self, message: str, until: datetime):
        super().__init__(message)
        self.until = until


@dataclass(frozen=True)
class User:
    username: str
    display_name: str | None
    department: str
    roles: tuple[str, ...]
    groups: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.display_name or self.username


@dataclass(frozen=True)
class Actor:
    """Who acts: the user, the candidate groups they act with (their own plus those of absent colleagues they
    cover) and the user names of those colleagues."""

    user: User
    groups: tuple[str, ...]
    covers: tuple[str, ...] = ()
    # (covered user name, that colleague's groups): tells for whom a backup acts on a group's task
    cover_groups: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def username(self) -> str:
        return self.user.username


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def absences_in_force(query, now):
    """`query` on absences narrowed to those in force at `now` (a datetime, or a bound parameter)."""
    return query.where(Absence.cleared_at.is_(None), Absence.starts_at <= now,
                       or_(Absence.until.is_(None), Absence.until > now))  # fmt: skip


# The two statements of every API request, built once (bound at execution): the user of a token, and the
# colleagues they cover now (no role) followed by the memberships of the user and of those colleagues.
_TOKEN_USER = (
    select(ApiToken.expires_at, UserRow)
    .join(UserRow, UserRow.username == ApiToken.username)
    .where(ApiToken.token_hash == bindparam("token_hash"))
)
_COVERED = absences_in_force(select(Absence.username).where(Absence.backup == bindparam("me")), bindparam("now"))
_ACTOR_ROWS = union_all(
    _COVERED.add_columns(cast(null(), String).label("role"), cast(null(), String).label("department")),
    select(Membership.username, Membership.role, Membership.department).where(
        or_(Membership.username == bindparam("me"), Membership.username.in_(_COVERED.scalar_subquery()))
    ),
)


class IdentityService(DepartmentDirectory, RoleDirectory):
    """Departments, roles, users, absences, sign-in and tokens; attached to the engine as `engine.identity`."""

    def __init__(self, engine):
        self.engine = engine
        # Argon2id with the library's defaults (RFC 9106 low-memory profile); tests may set a cheaper one.
        self.hasher = PasswordHasher()
        self.token_lifetime = TOKEN_LIFETIME

    # -- users
    def add_user(self, username: str, password: str, department: str, roles, display_name: str | None = None) -> User:
        """Create a user holding `roles` in `department` (a user name must be new)."""
        roles = check_role_codes(roles)
        if not isinstance(username, str) or not _NAME.match(username):
            raise InvalidData(f"user name {username!r} must be 1-100 ascii letters, digits, '.', '_' or '-'",
                              [("username", "invalid")])  # fmt: skip
        if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
            raise InvalidData(f"password of {username} must have at least {MIN_PASSWORD_LENGTH} characters",
                              [("password", "too short")])  # fmt: skip
        if not roles:
            raise InvalidData(f"user {username} needs at least one role ({', '.join(ROLES)})", [("roles", "required")])
        digest = self.hasher.hash(password)
        with self.engine.db.session() as session, session.begin():
            if session.get(Department, department) is None:
                raise InvalidData(f"department {department} does not exist (load or add it first)",
                                  [("department", "unknown")])  # fmt: skip
            if session.get(UserRow, username) is not None:
                raise InvalidData(f"user {username} already exists", [("username", "taken")])
            session.add(UserRow(username=username, display_name=(display_name or "").strip() or None,
                                department=department, password_hash=digest, created_at=self.engine.now()))  # fmt: skip
            ensure_roles(session, roles)  # a role a designer named is a task group: recorded on first use
            session.add_all(Membership(username=username, role=r, department=department) for r in roles)
        return self.get_user(username)

    def set_password(self, username: str, password: str) -> None:
        if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
            raise InvalidData(f"password of {username} must have at least {MIN_PASSWORD_LENGTH} characters")
        with self.engine.db.session() as session, session.begin():
            self._row(session, username).password_hash = self.hasher.hash(password)

    @staticmethod
    def _row(session, username: str) -> UserRow:
        row = session.get(UserRow, username) if isinstance(username, str) else None
        if row is None:
            raise NotFound(f"user {username} does not exist")
        return row

    @staticmethod
    def _user(session, row: UserRow) -> User:
        members = session.execute(
            select(Membership.role, Membership.department).where(Membership.username == row.username)
        ).all()
        roles = tuple(sorted({r for r, _ in members}))
        groups = tuple(sorted(f"{r}@{d}" for r, d in members))
        return User(row.username, row.display_name, row.department, roles, groups)

    def get_user(self, username: str) -> User:
        with self.engine.db.session() as session:
            return self._user(session, self._row(session, username))

    def users(self, department: str | None = None) -> list[User]:
        with self.engine.db.session() as session:
            query = select(UserRow).order_by(UserRow.department, UserRow.username)
            if department is not None:
                query = query.where(UserRow.department == department)
            return [self._user(session, row) for row in session.scalars(query).all()]

    def display_names(self) -> dict[str, str]:
        """username → the name people are shown by (the display name, else the username), in one query."""
        with self.engine.db.session() as session:
            rows = session.execute(select(UserRow.username, UserRow.display_name)).all()
        return {username: display_name or username for username, display_name in rows}

    def colleagues(self, username: str) -> list[User]:
        """The other users of the same department (whom a task may be delegated to)."""
        user = self.get_user(username)
        return [u for u in self.users(user.department) if u.username != username]

    # -- absences (AB岗)
    def set_absent(self, username: str, backup: str, until: datetime | None = None) -> None:
        """Mark `username` absent with `backup` covering, until `until` (aware) or until cleared."""
        if until is not None and until.tzinfo is None:
            raise InvalidData("the end of an absence must be timezone-aware")
        now = self.engine.now()
        if until is not None and until <= now:
            raise InvalidData(f"the absence of {username} must end in the future, not {shown_with_offset(until)}")
        if backup == username:
            raise InvalidData(f"{username} cannot be their own backup", [("backup", "self")])
        with self.engine.db.session() as session, session.begin():
            a, b = self._row(session, username), self._row(session, backup)
            if a.department != b.department:
                raise InvalidData(f"backup {backup} must be of {username}'s department {a.department}, not "
                                  f"{b.department}", [("backup", "other department")])  # fmt: skip
            away = session.scalars(absences_in_force(select(Absence).where(Absence.username == backup), now)).first()
            if away is not None:
                raise InvalidData(f"{backup} is absent and covered by {away.backup}; choose another backup",
                                  [("backup", "absent")])  # fmt: skip
            self._clear(session, username, now)
            session.add(Absence(username=username, backup=backup, starts_at=now, until=until))

    def clear_absent(self, username: str) -> None:
        with self.engine.db.session() as session, session.begin():
            self._row(session, username)
            self._clear(session, username, self.engine.now())

    @staticmethod
    def _clear(session, username: str, now: datetime) -> None:
        for row in session.scalars(select(Absence).where(Absence.username == username, Absence.cleared_at.is_(None))):
            row.cleared_at = now

    def acting_for(self, username: str) -> list[str]:
        """The absent colleagues this user covers right now."""
        query = absences_in_force(select(Absence.username).where(Absence.backup == username), self.engine.now())
        with self.engine.db.session() as session:
            return sorted(set(session.scalars(query)))

    def absence(self, username: str) -> tuple[str, datetime | None] | None:
        """(backup, until) while the user is absent, else None."""
        with self.engine.db.session() as session:
            query = absences_in_force(select(Absence).where(Absence.username == username), self.engine.now())
            row = session.scalars(query.order_by(Absence.id.desc())).first()
            return (row.backup, row.until) if row else None

    def actor(self, username: str) -> Actor:
        """The user with the groups they act with now: their own plus those of the colleagues they cover."""
        with self.engine.db.session() as session:
            return self._actor(session, self._row(session, username))

    def _actor(self, session, row: UserRow) -> Actor:
        """The Actor of a user row: the covered colleagues, then everyone's memberships in one query."""
        rows = session.execute(_ACTOR_ROWS, {"me": row.username, "now": self.engine.now()}).all()
        covers = tuple(sorted({name for name, role, _ in rows if role is None}))
        members = [(name, role, dept) for name, role, dept in rows if role is not None]
        own = [(role, dept) for name, role, dept in members if name == row.username]
        user = User(row.username, row.display_name, row.department, tuple(sorted({r for r, _ in own})),
                    tuple(sorted(f"{r}@{d}" for r, d in own)))  # fmt: skip
        theirs: dict[str, set[str]] = {name: set() for name in covers}
        for name, role, dept in members:
            if name in theirs:
                theirs[name].add(f"{role}@{dept}")
        groups = set(user.groups).union(*theirs.values())
        cover_groups = tuple((name, tuple(sorted(g))) for name, g in theirs.items())
        return Actor(user, tuple(sorted(groups)), covers, cover_groups)

    # -- sign-in
    def authenticate(self, username: str, password: str) -> User:
        """The user when the password matches; 5 failures within 15 minutes lock the account for 15 minutes."""
        now = self.engine.now()
        username = (username or "").strip()
        with self.engine.db.session() as session, session.begin():
            recent = session.scalars(
                select(LoginFailure.at).where(LoginFailure.username == username, LoginFailure.at > now - LOCKOUT_WINDOW)
                .order_by(LoginFailure.at.desc())
            ).all()  # fmt: skip
            if len(recent) >= MAX_FAILURES:
                until = recent[0] + LOCKOUT_WINDOW
                raise AccountLocked(f"account {username} is locked after {len(recent)} failed sign-ins until "
                                    f"{shown_with_offset(until)}", until)  # fmt: skip
            row = session.get(UserRow, username) if username else None
            if row is not None and self._verify(row, password):
                session.execute(delete(LoginFailure).where(LoginFailure.username == username))
                return self._user(session, row)
            # Unknown names count too: the reply must not tell which part was wrong.
            session.add(LoginFailure(username=username[:100], at=now))
        raise AuthenticationFailed("wrong user name or password")

    def _verify(self, row: UserRow, password: str) -> bool:
        try:
            self.hasher.verify(row.password_hash, password or "")
        except (VerificationError, InvalidHashError):
            return False
        if self.hasher.check_needs_rehash(row.password_hash):
            row.password_hash = self.hasher.hash(password)
        return True

    # -- API tokens
    def issue_token(self, username: str) -> str:
        """A new bearer token for the user, valid for `token_lifetime`; only its hash is stored."""
        token = secrets.token_urlsafe(32)
        now = self.engine.now()
        with self.engine.db.session() as session, session.begin():
            self._row(session, username)
            session.execute(delete(ApiToken).where(ApiToken.username == username, ApiToken.expires_at <= now))
            session.add(ApiToken(token_hash=_token_hash(token), username=username, created_at=now,
                                 expires_at=now + self.token_lifetime))  # fmt: skip
        return token

    def token_expiry(self, token: str) -> datetime | None:
        with self.engine.db.session() as session:
            row = session.get(ApiToken, _token_hash(token or ""))
            return row.expires_at if row else None

    def user_for_token(self, token: str) -> User:
        with self.engine.db.lookup_session() as session:
            return self._user(session, self._token_user(session, token))

    def actor_for_token(self, token: str) -> Actor:
        """The Actor of a bearer token (as `actor(user_for_token(token).username)`, in one session)."""
        with self.engine.db.lookup_session() as session:
            return self._actor(session, self._token_user(session, token))

    def _token_user(self, session, token: str) -> UserRow:
        """The user row of a valid bearer token (token and user in one statement)."""
        if not token:
            raise AuthenticationFailed("a bearer token is required")
        found = session.execute(_TOKEN_USER, {"token_hash": _token_hash(token)}).first()
        if found is None or found.expires_at <= self.engine.now():
            raise AuthenticationFailed("the token is unknown or expired; ask for a new one")
        return found[1]

    def revoke_token(self, token: str) -> None:
        with self.engine.db.session() as session, session.begin():
            session.execute(delete(ApiToken).where(ApiToken.token_hash == _token_hash(token or "")))

    def count_users(self) -> int:
        with self.engine.db.session() as session:
            return session.scalar(select(func.count()).select_from(UserRow))
