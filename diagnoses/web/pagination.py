"""Pages of the history whose count stops at COUNT_CAP studies.

Counting every study of a million-study history took most of a page's time (docs/benchmarks.md,
"Pages", 1,000,000 studies); counting up to COUNT_CAP + 1 takes a few milliseconds whatever the
size. Up to the cap a page is Django's: the count and the number of pages are exact. Past it the
page says "more than 10,000 studies" and the number of pages is not known: any page number is
valid, Next shows while another study follows the page (one more row is read to know), and a page
past the end is empty."""

from django.core.paginator import EmptyPage, InvalidPage, Page, PageNotAnInteger, Paginator
from django.utils.functional import cached_property

from diagnoses.selectors import count_up_to

COUNT_CAP = 10_000


class CappedPaginator(Paginator):
    @cached_property
    def count(self) -> int:
        """The rows, up to COUNT_CAP + 1 (read as "more than COUNT_CAP")."""
        return count_up_to(self.object_list, cap=COUNT_CAP)

    @property
    def capped(self) -> bool:
        return self.count > COUNT_CAP

    @property
    def cap(self) -> str:
        return f"{COUNT_CAP:,}"

    def validate_number(self, number):
        if not self.capped:
            return super().validate_number(number)
        return self._positive(number)

    def _positive(self, number) -> int:
        try:
            number = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger("That page number is not an integer") from None
        if number < 1:
            raise EmptyPage("That page number is less than 1")
        return number

    def get_page(self, number) -> Page:
        if not self.capped:
            return super().get_page(number)
        try:
            return self.page(self._positive(number))
        except InvalidPage:
            return self.page(1)

    def page(self, number) -> Page:
        if not self.capped:
            return super().page(number)
        number = self._positive(number)
        bottom = (number - 1) * self.per_page
        rows = list(self.object_list[bottom:bottom + self.per_page + 1])
        return CappedPage(rows[:self.per_page], number, self,
                          followed=len(rows) > self.per_page)


class CappedPage(Page):
    """A page past the count's cap: whether a row follows it was read, not counted."""

    def __init__(self, object_list, number, paginator, *, followed: bool):
        super().__init__(object_list, number, paginator)
        self.followed = followed

    def has_next(self) -> bool:
        return self.followed
