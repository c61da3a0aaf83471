"""Reports are safe to open: every text from the input is escaped, the page
embeds no script and opening it makes no network request.

The photos get hostile file names and hostile EXIF text; the report is parsed
and every tag, attribute and style rule is checked.
"""

from __future__ import annotations

import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

from scalpmetrics.analysis import analyze
from scalpmetrics.report import format_summary, to_json
from scalpmetrics.synthetic import PhantomSpec, make_course

pytest.importorskip("jinja2")  # the report extra
from scalpmetrics.compare import compare_visits  # noqa: E402
from scalpmetrics.report_html import render_compare_report, write_compare_report  # noqa: E402

PX_PER_MM = 80.0
#: File names a user might hand over ("/" cannot be in a name).
HOSTILE_NAMES = ('<img src=x onerror=alert(1)>&"\'.png', "<script>alert(2)<\\script> visit2.jpg")
HOSTILE_MAKE = '<script>alert("make")</script>'
HOSTILE_MODEL = '"><iframe src="http://evil.example/x"></iframe>'
HOSTILE_TITLE = "</title><script>alert(3)</script><style>@import url(//evil.example/a.css)</style>"
#: Attributes that make a browser fetch a URL.
URL_ATTRIBUTES = {"src", "href", "srcset", "action", "formaction", "poster", "data", "background",
                  "xlink:href", "ping", "manifest", "cite", "longdesc", "codebase", "archive"}
FORBIDDEN_TAGS = {"script", "iframe", "frame", "object", "embed", "applet", "link", "base",
                  "form", "audio", "video", "source", "track", "portal"}


def hostile_jpeg(pixels) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = HOSTILE_MAKE  # Make
    exif[0x0110] = HOSTILE_MODEL  # Model
    exif[0x0132] = "2026:01:05 10:00:00"
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="JPEG", quality=95, exif=exif)
    return buf.getvalue()


@pytest.fixture(scope="module")
def hostile_photos(tmp_path_factory) -> list[Path]:
    base = PhantomSpec(width_px=320, height_px=256, px_per_mm=PX_PER_MM)
    course = make_course(seed=3, n_visits=2, response="strong", max_rotation_deg=2.0, base=base)
    folder = tmp_path_factory.mktemp("hostile")
    paths = []
    for name, visit in zip(HOSTILE_NAMES, course.visits):
        path = folder / name
        if name.endswith(".png"):
            Image.fromarray(visit.image).save(path, format="PNG")
        else:
            path.write_bytes(hostile_jpeg(visit.image))
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def comparison(hostile_photos):
    return compare_visits(hostile_photos, px_per_mm=PX_PER_MM, allow_unregistered=True)


@pytest.fixture(scope="module")
def report_html(comparison) -> str:
    return render_compare_report(comparison, title=HOSTILE_TITLE)


class PageAudit(HTMLParser):
    """Collects what a browser would act on: tags, attributes, style text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str, str]] = []
        self.style_text: list[str] = []
        self.text: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes += [(tag, name, value or "") for name, value in attrs]
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        (self.style_text if self._in_style else self.text).append(data)


def audit(page: str) -> PageAudit:
    parser = PageAudit()
    parser.feed(page)
    parser.close()
    return parser


def test_no_script_and_no_active_content(report_html):
    page = audit(report_html)
    assert not FORBIDDEN_TAGS & set(page.tags)
    handlers = [(t, n) for t, n, _ in page.attributes if n.startswith("on")]
    assert handlers == []
    assert not any(v.strip().lower().startswith("javascript:") for _, _, v in page.attributes)
    refresh = [v for t, n, v in page.attributes if t == "meta" and n == "http-equiv"
               and v.lower() == "refresh"]
    assert refresh == []


def test_opening_it_makes_no_network_request(report_html):
    page = audit(report_html)
    for tag, name, value in page.attributes:
        if name in URL_ATTRIBUTES:
            assert value.startswith("data:image/") or value.startswith("#"), (tag, name, value[:80])
        if name == "style":
            page.style_text.append(value)
    styles = "\n".join(page.style_text).lower()
    assert "@import" not in styles
    assert all(u.startswith("data:") for u in re.findall(r"url\(\s*['\"]?([^'\")]*)", styles))
    # a strict policy forbids loading anything even if the above missed a way
    policy = [v for t, n, v in page.attributes if t == "meta" and n == "content"
              and "default-src 'none'" in v]
    assert len(policy) == 1 and "connect-src" not in policy[0] and "script-src" not in policy[0]


def test_file_names_metadata_and_title_are_escaped(report_html, hostile_photos):
    for raw in (*HOSTILE_NAMES, HOSTILE_TITLE, HOSTILE_MAKE, HOSTILE_MODEL):
        assert raw not in report_html
    text = "".join(audit(report_html).text)
    for name in HOSTILE_NAMES:  # shown to the reader, as text
        assert name in text
    assert HOSTILE_TITLE in text


def test_report_file_is_written_whole(comparison, tmp_path, report_html):
    out = tmp_path / "report.html"
    write_compare_report(out, comparison, title=HOSTILE_TITLE)
    assert out.read_text(encoding="utf-8") == report_html
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]  # no temporary file left


def test_json_and_text_outputs_carry_names_and_metadata_as_data(hostile_photos):
    result = analyze(hostile_photos[1], px_per_mm=PX_PER_MM)
    record = json.loads(to_json(result.to_dict()))
    assert record["image"]["path"] == str(hostile_photos[1])
    assert record["metadata"]["camera_model"] == f"{HOSTILE_MAKE} {HOSTILE_MODEL}"
    summary = format_summary(result)
    assert str(hostile_photos[1]) in summary.splitlines()[0]
