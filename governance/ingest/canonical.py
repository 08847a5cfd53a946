"""One spelling per web address, so the same article fetched twice is stored once.

`canonical_url` is the dedupe key of Document.url. Its rules, in order:

- surrounding white space is removed; non-http(s) URLs come back unchanged
  (they are never stored as a Document URL, see `is_web_url`);
- scheme and host are lower-cased, a trailing dot on the host is dropped, and
  user:password@ is dropped (credentials are not part of an article's identity,
  and must not end up in the database);
- default ports (:80 for http, :443 for https) are dropped;
- http and https stay distinct, and so do "www." and bare hosts: a site may
  serve different things on them, and guessing wrong would merge two articles;
- the path keeps its case and its trailing slash ("/a" and "/a/" can be different
  resources); an empty path becomes "/" (which is what a client requests);
- characters outside URL syntax (spaces, non-ASCII) are percent-encoded and
  percent escapes are upper-cased, so "é", "%c3%a9" and "%C3%A9" give one form;
- the fragment is dropped (it never reaches the server);
- tracking parameters (utm_*, fbclid, gclid, mc_cid, mc_eid, ref, ...) are
  dropped and the remaining parameters are sorted, each kept byte for byte as
  written; an empty query loses its "?".

Every step maps its own output to itself, so canonical_url is idempotent.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote, urlsplit, urlunsplit

WEB_SCHEMES = frozenset({"http", "https"})
DEFAULT_PORTS = {"http": 80, "https": 443}

# Parameters that only say how a reader arrived, never which article it is.
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "mkt_tok",
        "_ga",
        "_gl",
        "_hsenc",
        "_hsmi",
        "ref",
        "ref_src",
        "ref_url",
        "referrer",
        "cmpid",
        "ocid",
        "sr_share",
        "share",
        "spm",
        "at_medium",
        "at_campaign",
        "oly_anon_id",
        "oly_enc_id",
        "rb_clickid",
        "vero_id",
        "wt_mc",
        "__twitter_impression",
    }
)
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "itm_")

# Characters left as they are when re-quoting (RFC 3986 reserved + unreserved + "%").
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?"
_ESCAPE = re.compile(r"%[0-9a-fA-F]{2}")


def is_web_url(url: str | None) -> bool:
    """An absolute http(s) URL with a host: the only kind a Document may point at."""
    if not url:
        return False
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in WEB_SCHEMES and bool(parts.hostname)


def canonical_url(url: str) -> str:
    """The canonical spelling of `url` (rules in the module docstring)."""
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unbalanced "[" in the host
        return url
    scheme = parts.scheme.lower()
    if scheme not in WEB_SCHEMES or not parts.netloc:
        return url
    path = _requote(parts.path, _PATH_SAFE) or "/"
    query = _clean_query(parts.query)
    return urlunsplit((scheme, _netloc(scheme, parts.netloc), path, query, ""))


def same_site(a: str, b: str) -> bool:
    """Same host (ignoring case, port and a leading "www."): a page may name its own
    canonical URL, but not claim another site's (which would hijack that dedupe key)."""
    try:
        host_a, host_b = urlsplit(a).hostname or "", urlsplit(b).hostname or ""
    except ValueError:
        return False
    return bool(host_a) and host_a.removeprefix("www.") == host_b.removeprefix("www.")


def _netloc(scheme: str, netloc: str) -> str:
    host_port = netloc.rpartition("@")[2].lower()
    if host_port.startswith("["):  # IPv6 literal: [::1]:8080
        host, _, rest = host_port.partition("]")
        host, port = host + "]", rest.removeprefix(":")
    else:
        host, _, port = host_port.partition(":")
    host = host.rstrip(".")
    if port == str(DEFAULT_PORTS[scheme]) or not port:
        return host
    return f"{host}:{port}"


def _clean_query(query: str) -> str:
    kept = []
    for part in query.split("&"):
        if not part:
            continue
        name = unquote(part.partition("=")[0]).strip().lower()
        if name in TRACKING_PARAMS or name.startswith(TRACKING_PREFIXES):
            continue
        kept.append(_requote(part, _QUERY_SAFE))
    # Sorting by the whole "name=value" keeps repeated names in a stable order.
    return "&".join(sorted(kept))


def _requote(text: str, safe: str) -> str:
    # backslashreplace: a lone surrogate becomes %5Cudcxx, stable on a second pass.
    text = quote(text, safe=safe, errors="backslashreplace")
    return _ESCAPE.sub(lambda m: m.group(0).upper(), text)
