"""Folding writes into documents, copy on write: inputs are never changed, and the result
shares what a write leaves alone (no document is copied whole on each commit)."""

from __future__ import annotations

import copy

from app.services.store.port import Write, apply_data


def test_an_update_changes_neither_the_document_nor_the_write() -> None:
    before = {"a": {"b": 1, "c": [1, 2]}, "keep": {"big": list(range(100))}}
    frozen = copy.deepcopy(before)
    write = Write("update", "c", "x", {"a.b": 2, "a.new.deep": {"v": 1}, "top": [3]})
    after = apply_data(write, before)
    assert before == frozen
    assert write.data == {"a.b": 2, "a.new.deep": {"v": 1}, "top": [3]}
    assert after == {
        "a": {"b": 2, "c": [1, 2], "new": {"deep": {"v": 1}}},
        "keep": {"big": list(range(100))},
        "top": [3],
    }
    assert after["keep"] is before["keep"]  # untouched values are shared, not copied
    assert after["a"] is not before["a"]


def test_a_merge_changes_neither_input() -> None:
    before = {"a": {"b": 1, "c": 2}, "keep": [1, 2, 3]}
    patch = {"a": {"b": 5, "d": {"e": 1}}}
    frozen, frozen_patch = copy.deepcopy(before), copy.deepcopy(patch)
    after = apply_data(Write("merge", "c", "x", patch), before)
    assert (before, patch) == (frozen, frozen_patch)
    assert after == {"a": {"b": 5, "c": 2, "d": {"e": 1}}, "keep": [1, 2, 3]}
    assert after["keep"] is before["keep"]


def test_two_updates_of_one_parent_keep_both_fields() -> None:
    after = apply_data(Write("update", "c", "x", {"a.b": 1, "a.c": 2}), {"a": {"z": 0}})
    assert after == {"a": {"z": 0, "b": 1, "c": 2}}
