from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination


class CappedPageNumberPagination(PageNumberPagination):
    """Page-number pagination; `page_size` is honoured up to 200.

    A larger `page_size` is capped rather than refused (clients asking for
    "everything" get the biggest page); one that is not a positive integer is
    a 400, not silently the default. A `page` that is no page number is a 404
    (DRF's answer for "page=x"), "page=" included.
    """

    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        digits = raw.lstrip("0")
        if not (raw.isascii() and raw.isdigit()) or not digits:
            raise ValidationError({self.page_size_query_param: ["A positive integer."]})
        # Length first: converting a 4,000-digit string is slow, and it is capped anyway.
        return self.max_page_size if len(digits) > 6 else min(int(digits), self.max_page_size)

    def get_page_number(self, request, paginator):
        # DRF reads "page=" as page 1; like any other page that is no number, it is a 404.
        page_number = request.query_params.get(self.page_query_param, 1)
        return paginator.num_pages if page_number in self.last_page_strings else page_number

    def get_schema_operation_parameters(self, view):
        page, page_size = super().get_schema_operation_parameters(view)
        page["schema"] = {"type": "integer", "minimum": 1}
        page_size["schema"] = {"type": "integer", "minimum": 1}
        page_size["description"] = (
            f"Results per page (default {self.page_size}); values above {self.max_page_size} "
            f"are capped at {self.max_page_size}."
        )
        return [page, page_size]
