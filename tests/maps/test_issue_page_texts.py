"""The issue page names stored codes in Chinese: every triage reason the intake can give
has its sentence, and the deadline rule reads as hours, working days or an extension."""

from __future__ import annotations

import re

from civgrid.grids.issues.intake import TriageReason
from civgrid.maps.issue_page import TRIAGE_REASON_TEXT, deadline_rule_text


def test_every_triage_reason_has_a_chinese_sentence():
    codes = {v for k, v in vars(TriageReason).items() if not k.startswith("_")}
    assert codes == set(TRIAGE_REASON_TEXT)
    assert all(re.search(r"[\u4e00-\u9fff]", t) for t in TRIAGE_REASON_TEXT.values())


def test_deadline_rules_read_in_chinese():
    assert deadline_rule_text("72h") == "72 小时"
    assert deadline_rule_text("3wd") == "3 个工作日"
    assert deadline_rule_text("extended") == "已批准延期"
    assert deadline_rule_text("wd") == "wd"  # not a rule: shown as stored
