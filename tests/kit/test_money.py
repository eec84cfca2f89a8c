"""kit.money: minor units written exactly, for negative amounts and 0-, 2- and 3-decimal currencies."""

import pytest

from smile.kit.money import decimals, money
from smile.web.render import templates


@pytest.mark.parametrize(
    "amount, currency, text",
    [
        (499, "USD", "4.99 USD"),
        (-499, "USD", "-4.99 USD"),
        (-1, "usd", "-0.01 USD"),
        (0, "EUR", "0.00 EUR"),
        (123456789, "USD", "1,234,567.89 USD"),
        (-123456789, "USD", "-1,234,567.89 USD"),
        (499, "JPY", "499 JPY"),
        (-123456, "JPY", "-123,456 JPY"),
        (1500, "CRD", "1,500 CRD"),
        (1234, "KWD", "1.234 KWD"),
        (-5, "BHD", "-0.005 BHD"),
        (10**20 + 1, "USD", "1,000,000,000,000,000,000.01 USD"),  # beyond a float's precision: still exact
    ],
)
def test_money_for_people(amount, currency, text):
    assert money(amount, currency) == text


@pytest.mark.parametrize(
    "amount, currency, text",
    [
        (-123456, "USD", "-1234.56"),
        (-499, "USD", "-4.99"),
        (123456, "JPY", "123456"),
        (-1001, "TND", "-1.001"),
    ],
)
def test_plain_money_has_no_grouping_and_no_code(amount, currency, text):
    assert money(amount, currency, plain=True) == text


def test_decimals_and_floats_refused():
    assert (decimals("JPY"), decimals("usd"), decimals("KWD")) == (0, 2, 3)
    with pytest.raises(TypeError):
        money(4.99, "USD")  # type: ignore[arg-type]


def test_templates_use_it_as_filter_and_global():
    page = templates.env.from_string("{{ -499|money('USD') }} / {{ money(499, 'JPY') }}").render()
    assert page == "-4.99 USD / 499 JPY"
