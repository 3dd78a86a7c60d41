"""The rule-kind registry is the one place a kind is declared: the PDK loader, the DRC engine,
the hierarchical checker and the DRC's documentation all take their kinds from it."""

from __future__ import annotations

import inspect

import pytest

import layoutgen.drc as drc
from layoutgen.drc import hier
from layoutgen.drc.engine import run_rule
from layoutgen.errors import PdkError
from layoutgen.pdk import list_pdks, load_pdk
from layoutgen.rulekinds import RULE_KINDS, Finding, RuleKind, check_function, kinds_of


@pytest.mark.parametrize("name", list_pdks())
def test_every_kind_in_every_shipped_deck_resolves_to_its_check(name):
    pdk = load_pdk(name)
    assert pdk.rules
    for rule in pdk.rules:
        kind = RULE_KINDS[rule.kind]
        assert all(getattr(rule, f) is not None for f in kind.needs), rule.name
        assert len(inspect.signature(check_function(rule.kind)).parameters) == 2, rule.kind


def test_every_registered_check_imports():
    for name in RULE_KINDS:
        assert callable(check_function(name)), name


def test_the_pdk_loader_takes_kinds_and_fields_from_the_registry(tmp_path):
    base = load_pdk("sky400").path
    for kind, missing in (("no_such_kind", "unknown kind 'no_such_kind'"), ("island", "needs layer")):
        d = tmp_path / kind
        d.mkdir()
        (d / "pdk.toml").write_text(f'extends = "{base}"\nname = "t"\n')
        (d / "rules.toml").write_text(f'[[rule]]\nname = "X.1"\nkind = "{kind}"\ndescription = "x"\n')
        with pytest.raises(PdkError, match=missing):
            load_pdk(str(d))
    with pytest.raises(PdkError, match="known: " + ", ".join(RULE_KINDS)):
        load_pdk(str(tmp_path / "no_such_kind"))


def test_the_hierarchical_checker_takes_its_kind_sets_from_the_registry():
    assert hier.CONTEXT_LOCAL == kinds_of("local") and hier.CONTEXT_WHOLE == kinds_of("whole")
    assert hier.POLYGON_KINDS == kinds_of("polygon")
    scoped = kinds_of("local") | kinds_of("whole") | kinds_of("polygon") | kinds_of("flat")
    assert scoped == set(RULE_KINDS)
    # the family kinds see the whole picture: never checked across placements
    assert all(k.scope == "flat" for k in RULE_KINDS.values() if k.family)


def find_everything(rule, cell):
    return [Finding(f"{rule.name}: found on {rule.layer}")]


def test_a_kind_added_to_the_registry_alone_loads_and_runs(monkeypatch, tmp_path):
    monkeypatch.setitem(RULE_KINDS, "everything", RuleKind(("layer",), f"{__name__}:find_everything", "flat", doc="x"))
    d = tmp_path / "new"
    d.mkdir()
    (d / "pdk.toml").write_text(f'extends = "{load_pdk("sky400").path}"\nname = "new"\n')
    (d / "rules.toml").write_text('[[rule]]\nname = "ALL.1"\nkind = "everything"\nlayer = "RDL"\ndescription = "x"\n')
    rule = load_pdk(str(d)).rules[-1]
    assert rule.kind == "everything"
    assert run_rule(rule, None) == [Finding("ALL.1: found on RDL")]


def test_the_drc_documentation_lists_every_kind_with_its_meaning():
    doc = " ".join(drc.__doc__.split())
    for name, kind in RULE_KINDS.items():
        assert f"- {name}" in doc and " ".join(kind.doc.split()) in doc
