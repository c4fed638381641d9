"""JSON API for the current user and their API tokens."""

from fastapi import APIRouter, status

from app.auth import service
from app.auth.schemas import TokenCreate, TokenCreated, UserCreate, UserRead
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
    return UserRead.model_validate(user)
