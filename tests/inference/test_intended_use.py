"""The intended-use rules, without Django: what makes a study outside CheXNet's intended use."""

from datetime import date

import pytest

from inference.imaging.intended_use import (
    IntendedUseFacts,
    declared_facts,
    outside_intended_use,
    patient_age_years,
)

ADULT_PA = IntendedUseFacts(from_header=True, modality="DX", body_part="CHEST",
                            view_position="PA", age_years=45)


def test_an_adult_frontal_chest_radiograph_is_within():
    assert outside_intended_use(ADULT_PA) == []


@pytest.mark.parametrize("change, reason", [
    ({"modality": "CT"}, "CT is not a radiograph (CR or DX)"),
    ({"body_part": "ABDOMEN"}, "body part ABDOMEN is not the chest"),
    ({"view_position": "LL"}, "view LL is not frontal (PA or AP)"),
    ({"view_position": "LATERAL"}, "view LATERAL is not frontal (PA or AP)"),
    ({"view_position": ""}, "the header does not record a frontal view (no ViewPosition)"),
    ({"age_years": 12}, "patient younger than 18"),
])
def test_each_rule_gives_its_reason(change, reason):
    facts = IntendedUseFacts(**{**ADULT_PA.__dict__, **change})
    assert outside_intended_use(facts) == [reason]


def test_an_absent_body_part_and_an_unknown_age_are_within():
    facts = IntendedUseFacts(**{**ADULT_PA.__dict__, "body_part": "", "age_years": None})
    assert outside_intended_use(facts) == []


def test_an_ap_view_and_an_eighteen_year_old_are_within():
    facts = IntendedUseFacts(**{**ADULT_PA.__dict__, "view_position": "AP", "age_years": 18})
    assert outside_intended_use(facts) == []


def test_free_text_in_a_header_is_never_quoted():
    facts = IntendedUseFacts(**{**ADULT_PA.__dict__, "body_part": "<script>x</script>"})
    assert outside_intended_use(facts) == ["body part recorded is not the chest"]


def test_reasons_add_up():
    facts = IntendedUseFacts(from_header=True, modality="CR", body_part="ABDOMEN",
                             view_position="RL", age_years=0.5)
    assert len(outside_intended_use(facts)) == 3


def test_a_png_without_declarations_is_not_checked_and_not_outside():
    assert outside_intended_use(declared_facts()) == []


def test_a_png_declared_lateral_and_a_child_is_outside():
    assert outside_intended_use(declared_facts(view_position="ll", age_years=9)) == [
        "view LL is not frontal (PA or AP)", "patient younger than 18"]


@pytest.mark.parametrize("text, years", [
    ("012Y", 12), ("062Y", 62), ("62", 62), ("006M", 0.5), ("002W", 14 / 365.25),
    ("010D", 10 / 365.25), ("018Y", 18),
])
def test_patient_age_is_read_in_each_unit(text, years):
    assert patient_age_years(patient_age=text) == pytest.approx(years)


@pytest.mark.parametrize("text", ["", "abc", "12X", "0123Y", "-12Y"])
def test_an_unreadable_age_is_unknown(text):
    assert patient_age_years(patient_age=text) is None


def test_the_age_comes_from_the_birth_and_study_dates_without_patient_age():
    assert patient_age_years(birth_date=date(2010, 3, 1), study_date=date(2024, 2, 28)) < 14
    assert patient_age_years(birth_date=date(1970, 1, 1), study_date=date(2024, 1, 1)) > 53
    assert patient_age_years(birth_date=date(2024, 1, 2), study_date=date(2024, 1, 1)) is None
    assert patient_age_years(birth_date=date(2010, 1, 1)) is None


def test_patient_age_wins_over_the_dates():
    assert patient_age_years(patient_age="040Y", birth_date=date(2010, 1, 1),
                             study_date=date(2020, 1, 1)) == 40
