"""A growing session file keeps its encoded actions (ActionTexts): the same bytes, fewer encodes; and a
rewrite's conflict check reads the old file's ``meta`` only."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_files_common import real_sessions

from recorder.files import (
    ActionTexts,
    RecordingConflictError,
    RecordingFormatError,
    RecordingsLayout,
    SessionAction,
    SessionRecording,
    read_session,
)


def longest(raw_events: list[dict]) -> SessionRecording:
    return max(real_sessions(raw_events), key=lambda s: len(s.actions))


def grown(session: SessionRecording, count: int, **meta: object) -> SessionRecording:
    """The first ``count`` actions of ``session`` (the same objects), as a file on its way to the whole."""
    return SessionRecording(
        meta=session.meta.model_copy(update=meta), actions=session.actions[:count], **session.model_extra
    )


def test_every_version_of_a_growing_file_has_the_bytes_of_the_plain_encoding(raw_events) -> None:
    session = longest(raw_events)
    texts = ActionTexts()
    for count in [0, 1, 2, 2, len(session.actions) - 1, len(session.actions)]:
        version = grown(session, count)
        assert version.to_json_bytes(texts) == version.to_json_bytes()
    for other in real_sessions(raw_events):  # other objects: nothing in common with the last version
        assert other.to_json_bytes(texts) == other.to_json_bytes()


def test_only_the_actions_new_since_the_last_version_are_encoded(raw_events, monkeypatch) -> None:
    session = longest(raw_events)
    total = len(session.actions)
    assert total >= 4
    checked: list[SessionAction] = []
    real = SessionAction.from_file_dict.__func__  # type: ignore[attr-defined]

    def counting(cls: type[SessionAction], data: object, path: object = None) -> SessionAction:
        checked.append(data)  # type: ignore[arg-type]
        return real(cls, data, path)

    monkeypatch.setattr(SessionAction, "from_file_dict", classmethod(counting))
    texts = ActionTexts()
    grown(session, total - 2).to_json_bytes(texts)
    assert len(checked) == total - 2
    checked.clear()
    grown(session, total).to_json_bytes(texts)
    assert len(checked) == 2  # the two new ones
    checked.clear()
    rebuilt = [SessionAction.model_validate(a.model_dump()) for a in session.actions]  # equal, not the same
    SessionRecording(meta=session.meta, actions=tuple(rebuilt)).to_json_bytes(texts)
    assert len(checked) == total


def test_an_action_that_would_not_read_back_is_refused_as_by_the_plain_encoding(raw_events) -> None:
    session = longest(raw_events)
    broken = SessionAction.model_construct(**{**session.actions[1].__dict__, "tick": -1})  # no validation
    bad = SessionRecording(meta=session.meta, actions=(session.actions[0], broken, *session.actions[2:]))
    with pytest.raises(RecordingFormatError) as plain:
        bad.to_json_bytes()
    texts = ActionTexts()
    with pytest.raises(RecordingFormatError) as cached:
        bad.to_json_bytes(texts)
    assert str(cached.value) == str(plain.value) and "actions[1].tick" in str(plain.value)
    assert session.to_json_bytes(texts) == session.to_json_bytes()  # the failure left nothing behind


def test_unknown_keys_are_written_as_by_the_plain_encoding(raw_events) -> None:
    session = longest(raw_events)
    odd = SessionAction.model_validate({**session.actions[0].model_dump(), "note": {"k": [1, "é"]}})
    with_extras = SessionRecording(meta=session.meta, actions=(odd, *session.actions[1:]))
    top_extra = SessionRecording(meta=session.meta, actions=session.actions, comment="kept")
    for doc in (with_extras, top_extra):
        assert doc.to_json_bytes(ActionTexts()) == doc.to_json_bytes()


def test_a_rewrite_reads_only_the_meta_of_the_file_it_replaces(tmp_path: Path, raw_events) -> None:
    session = longest(raw_events)
    layout = RecordingsLayout(tmp_path)
    path = layout.write_session(grown(session, 1))
    text = path.read_text()
    start = text.index('"actions"')
    path.write_text(text[:start] + '"actions": [{"not": "an action"}]\n}\n')  # the same session's meta
    assert layout.write_session(session) == path  # replaced by its whole version
    assert read_session(path) == session
    other = grown(session, 1, player_id="someone-else")
    path.write_text(path.read_text().replace(session.meta.player_id, "someone-else"))
    with pytest.raises(RecordingConflictError, match="holds another session"):
        layout.write_session(session)
    assert layout.write_session(other) == path  # its own session: replaced
    path.write_bytes(b'{"meta": {"player_id": 3}, "actions": []}')
    with pytest.raises(RecordingConflictError, match="not a readable session file"):
        layout.write_session(session)
    path.write_bytes(b"[1, 2")
    with pytest.raises(RecordingConflictError, match="not a readable session file"):
        layout.write_session(session)


def test_a_file_inconsistent_as_a_whole_is_refused_as_by_the_plain_encoding(raw_events) -> None:
    session = longest(raw_events)
    assert session.game_ids
    built = SessionRecording.model_construct(  # not validated: fewer games played than its actions touch
        meta=session.meta.model_copy(update={"games_played": 0}), actions=session.actions
    )
    with pytest.raises(RecordingFormatError) as plain:
        built.to_json_bytes()
    with pytest.raises(RecordingFormatError) as cached:
        built.to_json_bytes(ActionTexts())
    assert str(cached.value) == str(plain.value) and "games_played" in str(plain.value)
