"""Where the PACS is and how to sign in; credentials never in a repr or a message."""

import pytest

from zoo.errors import PacsError
from zoo.pacs import PacsClient, PacsSettings


def test_the_environment_and_secrets_say_where_and_how_secrets_first():
    environ = {
        "MEDZOO_PACS_URL": "http://pacs.example:8042/dicom-web",
        "MEDZOO_PACS_USER": "env-user",
        "MEDZOO_PACS_PASSWORD": "env-password",
    }
    settings = PacsSettings.from_environment(environ)
    assert (settings.user, settings.password, settings.auth_kind) == (
        "env-user",
        "env-password",
        "user and password",
    )
    secrets = {"url": "https://other.example/dicom-web", "token": "abc.def"}
    settings = PacsSettings.from_environment(environ, secrets)
    assert (
        settings.url == "https://other.example/dicom-web" and settings.auth_kind == "bearer token"
    )
    assert PacsSettings.from_environment(environ, url="http://x:1/w").url == "http://x:1/w"


def test_no_url_anywhere_says_what_to_set():
    with pytest.raises(PacsError, match="MEDZOO_PACS_URL"):
        PacsSettings.from_environment({})


def test_credentials_in_the_url_move_out_of_it_and_never_show():
    settings = PacsSettings("http://alice:hunter2@pacs.example:8042/dicom-web?x=1")
    assert settings.user == "alice" and settings.password == "hunter2"
    assert "hunter2" not in settings.url and "alice" not in settings.url
    shown = repr(settings) + repr(PacsClient(settings)) + settings.display_url
    assert "hunter2" not in shown and "alice" not in shown and "x=1" not in shown
    token = PacsSettings("http://pacs.example/dicom-web", token="t0ken-secret")
    assert "t0ken-secret" not in repr(token) + repr(PacsClient(token))


def test_a_url_that_is_not_http_is_refused_without_echoing_credentials():
    with pytest.raises(PacsError) as caught:
        PacsSettings("ftp://bob:s3cr3t@host/dicom-web")
    assert "bob" not in str(caught.value) and "s3cr3t" not in str(caught.value)
