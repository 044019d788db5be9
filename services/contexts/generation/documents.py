"""The project documents, cut into heading sections that tasks can point to.

A ``spec_refs`` entry such as ``docs/prd.md#todo-management`` names a document and a
GitHub-style heading anchor; its excerpt is that section, down to the next heading of the
same or a higher level. A reference without an anchor means the whole document. Tasks
without references get the sections whose own text mentions their module or function.

At intake a task records which sections it quotes (``Excerpt`` without text); the job
stores the documents once, and :func:`attach_excerpts` fills the texts in when the task
is generated.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath

import msgspec

from services.contexts.generation.planned_task import Excerpt, PlannedTask

MAX_EXCERPT_CHARS = 6_000  # a context quotes its requirements, not a whole book
MAX_MENTIONS = 3  # sections quoted for a task that has no references

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.*?)[ \t]*#*[ \t]*$")
_FENCE = re.compile(r"^[ \t]{0,3}(```|~~~)")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_NOT_SLUG = re.compile(r"[^\w\- ]", re.UNICODE)
_WORD = re.compile(r"\w+", re.UNICODE)


def slugify(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces -> hyphens."""
    text = _LINK.sub(r"\1", heading).replace("`", "").strip().lower()
    return _NOT_SLUG.sub("", text).replace(" ", "-")


def normalize_path(path: str) -> str:
    path = path.strip().replace("\\", "/")
    return str(PurePosixPath(path)) if path else ""


@dataclass(slots=True)
class Section:
    document: str
    heading: str
    slug: str
    level: int
    text: str  # heading line down to the next heading of the same or a higher level
    own_text: str  # heading line down to the next heading of any level


def split_sections(document: str, text: str) -> list[Section]:
    lines = text.splitlines()
    headings: list[tuple[int, int, str]] = []  # (line, level, title)
    fenced = False
    for number, line in enumerate(lines):
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced and (match := _HEADING.match(line)):
            headings.append((number, len(match.group(1)), match.group(2)))
    sections: list[Section] = []
    seen: dict[str, int] = {}
    for position, (start, level, title) in enumerate(headings):
        end = own_end = len(lines)
        if position + 1 < len(headings):
            own_end = headings[position + 1][0]
        for later, later_level, _ in headings[position + 1 :]:
            if later_level <= level:
                end = later
                break
        slug = slugify(title)
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        sections.append(
            Section(
                document=document,
                heading=title,
                slug=f"{slug}-{count}" if count else slug,
                level=level,
                text="\n".join(lines[start:end]).strip(),
                own_text="\n".join(lines[start:own_end]).strip(),
            )
        )
    return sections


def _clip(text: str, source: str) -> str:
    if len(text) <= MAX_EXCERPT_CHARS:
        return text
    cut = text.rfind("\n", 0, MAX_EXCERPT_CHARS)
    return (
        text[: cut if cut > 0 else MAX_EXCERPT_CHARS] + f"\n\n(The section continues in {source}.)"
    )


class DocumentIndex:
    """Sections of every document, by path and anchor; built once per plan."""

    def __init__(self, documents: Mapping[str, str]) -> None:
        self._documents = {normalize_path(path): text for path, text in documents.items()}
        self._sections = {
            path: split_sections(path, text) for path, text in self._documents.items()
        }
        self._by_slug = {
            path: {section.slug: section for section in sections}
            for path, sections in self._sections.items()
        }
        every = [section for sections in self._sections.values() for section in sections]
        self._order = {id(section): position for position, section in enumerate(every)}
        self._words: dict[str, list[Section]] | None = None
        self._cache: dict[str, Excerpt | None] = {}

    def resolve(self, ref: str) -> Excerpt | None:
        """The excerpt (without its text) a reference points to, or None when nothing
        matches."""
        if ref not in self._cache:
            self._cache[ref] = self._resolve(ref)
        return self._cache[ref]

    def _resolve(self, ref: str) -> Excerpt | None:
        path, _, anchor = ref.partition("#")
        path = normalize_path(path)
        if path not in self._documents:
            return None
        if not anchor.strip():
            if not self._documents[path].strip():
                return None
            return Excerpt(source=path, heading=path, document=path)
        wanted = anchor.strip().lower()
        sections = self._by_slug[path]
        found = sections.get(wanted) or sections.get(slugify(anchor))
        if found is None:
            return None
        return _reference(found, own=False)

    def mentioning(self, terms: Iterable[str]) -> list[Excerpt]:
        """Up to ``MAX_MENTIONS`` sections whose own text contains one of ``terms`` as a
        word, in document order (without their texts)."""
        if self._words is None:
            self._words = {}
            for sections in self._sections.values():
                for section in sections:
                    for word in {w.lower() for w in _WORD.findall(section.own_text)}:
                        self._words.setdefault(word, []).append(section)
        matched: dict[int, Section] = {}
        for term in terms:
            for section in self._words.get(term.lower(), []):
                matched.setdefault(id(section), section)
        chosen = sorted(matched.values(), key=lambda s: self._order[id(s)])[:MAX_MENTIONS]
        return [_reference(section, own=True) for section in chosen]

    def text_of(self, excerpt: Excerpt) -> str | None:
        """The quoted text of a reference made by this index (None when the document or
        section is not there)."""
        document = self._documents.get(excerpt.document)
        if document is None:
            return None
        if not excerpt.anchor:
            return _clip(document.strip(), excerpt.document)
        section = self._by_slug[excerpt.document].get(excerpt.anchor)
        if section is None:
            return None
        return _clip(section.own_text if excerpt.own else section.text, excerpt.document)


def _reference(section: Section, *, own: bool) -> Excerpt:
    return Excerpt(
        source=f"{section.document}#{section.slug}",
        heading=section.heading,
        document=section.document,
        anchor=section.slug,
        own=own,
    )


# The worker attaches excerpts task by task, passing the same job's documents each time
# (a batch may mix a few jobs): keep the last few indexes, so the documents are cut into
# sections once per job, not once per task. Each entry keeps its mapping alive, so the
# id it is found by cannot be reused by another mapping meanwhile.
_RECENT_INDEXES = 8
_indexes: OrderedDict[int, tuple[Mapping[str, str], DocumentIndex]] = OrderedDict()
_index_lock = threading.Lock()


def _index_for(documents: Mapping[str, str]) -> DocumentIndex:
    with _index_lock:
        entry = _indexes.get(id(documents))
        if entry is None or entry[0] is not documents:
            entry = (documents, DocumentIndex(documents))
            _indexes[id(documents)] = entry
            if len(_indexes) > _RECENT_INDEXES:
                _indexes.popitem(last=False)
        _indexes.move_to_end(id(documents))
        return entry[1]


def attach_excerpts(task: PlannedTask, documents: Mapping[str, str]) -> PlannedTask:
    """``task`` with the texts of its excerpts filled in from the job's ``documents``.

    An excerpt whose document or section is no longer there is left out (the intake
    checked the references against these same documents, so that does not happen for a
    stored job)."""
    if not task.excerpts:
        return task
    index = _index_for(documents)
    attached = []
    for excerpt in task.excerpts:
        text = index.text_of(excerpt)
        if text:
            attached.append(msgspec.structs.replace(excerpt, text=text))
    return msgspec.structs.replace(task, excerpts=attached)


def missing_spec_warning(task_id: str, ref: str) -> str:
    """The "Missing Specifications" warning for one reference."""
    path, _, anchor = ref.partition("#")
    expected = f"{path.strip()} section on {anchor.strip()}" if anchor.strip() else path.strip()
    return (
        f"Warning: {task_id} references missing API specification\n"
        f"  Expected: {expected}\n"
        "  Action: Creating context with available information\n"
        "  TODO: Update context after specification is added"
    )
