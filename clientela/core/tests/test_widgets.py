"""The fast select widgets render the same HTML as Django's templates (up to whitespace and the
order of attributes)."""

from __future__ import annotations

from django import forms
from django.test.html import parse_html

from clientela.core.widgets import FastSelect, FastSelectMultiple, fast_choice_widgets

CHOICES = [
    ("", "—"),
    ("dk", 'Danmark <&> "Ø"'),
    ("Nordics", [("no", "Norge"), ("se", "Sverige")]),
    (3, "Three"),
]


def test_a_fast_select_renders_like_django_s_select():
    attrs = {"id": "id_country", "required": True, "aria-label": "Land", "data-x": False}

    fast = FastSelect(choices=CHOICES).render("country", "no", attrs)

    assert parse_html(fast) == parse_html(
        forms.Select(choices=CHOICES).render("country", "no", attrs)
    )
    assert '<option value="no" selected>Norge</option>' in fast
    assert "Danmark &lt;&amp;&gt; &quot;Ø&quot;" in fast


def test_a_fast_select_multiple_renders_like_django_s_select_multiple():
    fast = FastSelectMultiple(choices=CHOICES).render("country", ["dk", "3"], {"id": "c"})

    django = forms.SelectMultiple(choices=CHOICES).render("country", ["dk", "3"], {"id": "c"})
    assert parse_html(fast) == parse_html(django)
    assert fast.count(" selected") == 2


def test_only_plain_selects_are_swapped():
    class Form(forms.Form):
        country = forms.ChoiceField(choices=CHOICES)
        tags = forms.MultipleChoiceField(choices=CHOICES)
        mode = forms.ChoiceField(choices=CHOICES, widget=forms.RadioSelect)

    fields = Form.base_fields
    fast_choice_widgets(fields)

    assert [type(field.widget) for field in fields.values()] == [
        FastSelect,
        FastSelectMultiple,
        forms.RadioSelect,
    ]
