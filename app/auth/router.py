"""JSON API for the current user and their API tokens."""

from fastapi import APIRouter, Request, status

from app.audit import service as audit
from app.auth import management, service
from app.auth.schemas import TokenCreate, TokenCreated, UserCreate, UserRead, UserUpdate
from app.deps import Admin, CurrentUser, SessionDep

router = APIRouter(prefix="/api/v1", tags=["auth"])


@router.get("/me", response_model=UserRead)
def me(user: CurrentUser) -> UserRead:
    return UserRead.model_validate(user)


@router.post("/tokens", status_code=status.HTTP_201_CREATED, response_model=TokenCreated)
def create_token(data: TokenCreate, session: SessionDep, user: CurrentUser) -> TokenCreated:
    token = service.create_token(session, user=user, name=data.name)
    return TokenCreated(token=token, prefix=token[:10], name=data.name)


@router.post("/users", status_code=status.HTTP_201_CREATED, response_model=UserRead)
def create_user(data: UserCreate, session: SessionDep, admin: Admin) -> UserRead:
    user = service.create_user(
        session, email=data.email, password=data.password, role=data.role, kind=data.kind
    )
    audit.record(
        session,
        actor=admin,
        action="user.created",
        target_type="user",
        target_id=user.id,
        details={"email": user.email, "role": user.role.value, "kind": user.kind.value},
    )
    return UserRead.model_validate(user)


@router.get("/users", response_model=list[UserRead])
def list_users(session: SessionDep, admin: Admin) -> list[UserRead]:
    return [UserRead.model_validate(u) for u in management.list_users(session)]


@router.patch("/users/{user_id}", response_model=UserRead)
def update_user(
    user_id: int, data: UserUpdate, request: Request, session: SessionDep, admin: Admin
) -> UserRead:
    """Changes a role and/or deactivates (or reactivates) an account; not your own, nor the last admin."""
    user = management.get_user(session, user_id=user_id)
    remote = request.client.host if request.client else None
    if data.role is not None:
        management.change_role(session, actor=admin, user=user, role=data.role, remote_addr=remote)
    if data.is_active is not None:
        management.set_active(session, actor=admin, user=user, active=data.is_active, remote_addr=remote)
    return UserRead.model_validate(user)
