"""Pages of a list: `page` (from 1) and `page_size` (at most MAX_PAGE_SIZE); the answer carries
the items and the total count."""

from typing import Any

from ninja import Field, Schema
from ninja.pagination import PaginationBase

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


class Pages(PaginationBase):
    class Input(Schema):
        page: int = Field(1, ge=1, le=1_000_000, description="The page, from 1.")
        page_size: int = Field(PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="Items per page.")

    class Output(Schema):
        items: list[Any]
        count: int = Field(description="How many items there are on all pages together.")
        page: int
        page_size: int

    def paginate_queryset(self, queryset, pagination, request, **params):
        start = (pagination.page - 1) * pagination.page_size
        return {
            "items": queryset[start : start + pagination.page_size],
            "count": queryset.count(),
            "page": pagination.page,
            "page_size": pagination.page_size,
        }
