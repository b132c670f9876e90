from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.utils.translation import gettext as _
from rest_framework.exceptions import NotFound as DrfNotFound
from rest_framework.pagination import CursorPagination

from aftersales.errors import InvalidInput

CURSOR_INVALID = "cursor_invalid"


def cursor_invalid():
    return InvalidInput(
        _("分页游标无效，请使用上一页响应中的 next / previous 链接。"),
        code=CURSOR_INVALID,
        fields={"cursor": ["invalid"]},
    )


class IdCursorPagination(CursorPagination):
    """Cursor pagination on the primary key, newest first: stable under inserts.

    A cursor the client altered answers 400 ``cursor_invalid`` (issue 19): DRF's decoding
    answers 404 for a cursor it cannot read and passes the position it finds to the database
    unchecked, so ``p=abc``, ``p=notadate`` or a 40-digit position were 500s. The position is
    checked here against the model field (or annotation) it is compared with.
    """

    ordering = "-id"
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100

    def paginate_queryset(self, queryset, request, view=None):
        self.cursor_queryset = queryset
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request):
        try:
            cursor = super().decode_cursor(request)
        except DrfNotFound:
            raise cursor_invalid() from None
        if cursor is not None and cursor.position is not None:
            self.check_position(cursor.position)
        return cursor

    def check_position(self, position):
        if "\x00" in position:
            raise cursor_invalid()
        field = self.position_field()
        if field is None:
            return
        try:
            field.run_validators(field.to_python(position))
        except (ValidationError, ValueError, TypeError, OverflowError):
            raise cursor_invalid() from None

    def position_field(self):
        """The model field or annotation that the cursor's position is compared with."""
        queryset = getattr(self, "cursor_queryset", None)
        if queryset is None:
            return None
        name = self.ordering[0].lstrip("-")
        try:
            return queryset.model._meta.get_field(name)
        except FieldDoesNotExist:
            annotation = queryset.query.annotations.get(name)
            return getattr(annotation, "output_field", None)
