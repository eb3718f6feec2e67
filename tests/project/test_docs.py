"""The generated pages of docs/ match what the cards and benchmark outputs say now."""

from benchmarks import docs


def test_generated_docs_are_current():
    stale = [
        str(path.relative_to(docs.ROOT))
        for path, text in docs.pages().items()
        if not path.is_file() or path.read_text() != text
    ]
    assert not stale, f"run `python -m benchmarks.docs` to regenerate {stale}"


def test_readme_stays_short_and_links_the_docs():
    readme = (docs.ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 250
    for page in ("models.md", "performance.md", "zoo.md", "benchmarks.md", "training.md"):
        assert f"docs/{page}" in readme and (docs.DOCS / page).is_file()
