"""Forms with the validation users see: junk input gets a clear message and loses nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django import forms
from django.core.validators import URLValidator
from django.utils import timezone

from governance.ingest import fetch
from governance.models import Source

MANUAL_EXTENSIONS = {".txt", ".md", ".html", ".htm"}
# One limit for a manual source's text, uploaded or pasted: its size in UTF-8, so that a
# paste of Chinese text (3 bytes a character) costs what its file would.
MAX_UPLOAD_BYTES = 2 * 1024 * 1024
MAX_TEXT_LABEL = "2 MB"


def check_text_size(text: str) -> None:
    """Refuse a manual text over the limit, naming the limit and the text's size."""
    size = len(text.encode("utf-8", errors="surrogatepass"))
    if size > MAX_UPLOAD_BYTES:
        raise forms.ValidationError(
            "The text is %(size)s MB (%(chars)s characters); the limit is %(limit)s of "
            "UTF-8 text (about 2 million letters of English or 700,000 Chinese characters). "
            "Nothing was saved: shorten it, or split it into several sources.",
            code="text_too_large",
            params={
                "size": f"{size / 1024 / 1024:.1f}",
                "chars": f"{len(text):,}",
                "limit": MAX_TEXT_LABEL,
            },
        )


class SourceForm(forms.ModelForm):
    # A plain field, so a file:// or ftp:// address gets our message, not "Enter a valid URL".
    url = forms.CharField(
        label="URL",
        required=False,
        max_length=2000,
        widget=forms.TextInput(attrs={"size": 80}),
        help_text="For feeds and web pages: the http(s) address.",
    )
    upload = forms.FileField(
        required=False,
        help_text="For manual sources: a .txt, .md or .html file (UTF-8, at most 2 MB). "
        "It replaces the text above.",
    )

    class Meta:
        model = Source
        fields = ["name", "kind", "url", "manual_text", "upload", "enabled", "interval"]

    def clean_url(self) -> str | None:
        url = (self.cleaned_data.get("url") or "").strip()
        if not url:
            return None
        if not url.lower().startswith(("http://", "https://")):
            raise forms.ValidationError("Only http:// and https:// addresses can be fetched.")
        URLValidator(schemes=["http", "https"], message="This is not a valid web address.")(url)
        # The fetcher's own refusals (credentials, loopback, private and metadata
        # addresses): such a source would fail on every fetch, so it is never stored.
        if url != self.instance.url and (refused := fetch.refusal(url)) is not None:
            raise forms.ValidationError(f"This address cannot be fetched: {refused.message}.")
        return url

    def clean_manual_text(self) -> str:
        text = self.cleaned_data.get("manual_text") or ""
        check_text_size(text)
        return text

    def clean_upload(self) -> Any:
        upload = self.cleaned_data.get("upload")
        if not upload:
            return None
        if Path(upload.name).suffix.lower() not in MANUAL_EXTENSIONS:
            raise forms.ValidationError("Upload a .txt, .md or .html file.")
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(f"The file is larger than {MAX_TEXT_LABEL}.")
        raw = upload.read()
        try:
            upload.text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise forms.ValidationError("The file is not UTF-8 text.") from exc
        if "\x00" in upload.text:
            raise forms.ValidationError("The file is binary, not text.")
        return upload

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        kind = data.get("kind")
        upload = data.get("upload")
        if kind in (Source.Kind.FEED, Source.Kind.PAGE) and not data.get("url"):
            self.add_error("url", "A feed or a web page needs its URL.")
        if kind == Source.Kind.MANUAL:
            if upload:
                data["manual_text"] = upload.text
            if not (data.get("manual_text") or "").strip():
                self.add_error("manual_text", "Paste the text, or upload a file.")
        return data

    def save(self, commit: bool = True) -> Source:
        source = super().save(commit=False)
        upload = self.cleaned_data.get("upload")
        if upload:
            source.manual_text = upload.text
            source.manual_filename = Path(upload.name).name[:200]
        if source.kind == Source.Kind.MANUAL and (
            "manual_text" in self.changed_data or upload or source.pk is None
        ):
            source.next_fetch_at = timezone.now()  # ingest the new text on the next tick
        if commit:
            source.save()
        return source
