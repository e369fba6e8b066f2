"""Builds avatar URLs with PyPI's libgravatar as its README shows, rebased onto the service.

Usage: python3 libgravatar_client.py '<plan JSON>'

The plan is {"mode": "build" | "fetch", "base": "http://127.0.0.1:PORT", "cases": [...]},
each case {"name", "email", and optionally "size", "default", "rating", "force_default",
"extension"}. libgravatar always builds https://www.gravatar.com/avatar/...; an app that
moves to this service keeps the library and replaces only the scheme and host, which is what
`rebase` does. "build" prints [{"name", "url"}]; "fetch" also fetches each URL (bounded
timeout) and adds "status", "content_type" and the body in base64. Any failure exits
non-zero with the reason on stderr.
"""

import base64
import json
import sys
import urllib.error
import urllib.parse
import urllib.request

from libgravatar import Gravatar

# Every request is bounded: a hung server fails the case instead of the whole run.
TIMEOUT_SECONDS = 30


def build(case):
    """The URL libgravatar makes for `case`, using only the arguments its README documents."""
    kwargs = {}
    if "size" in case:
        kwargs["size"] = case["size"]
    if "default" in case:
        kwargs["default"] = case["default"]
    if "rating" in case:
        kwargs["rating"] = case["rating"]
    if case.get("force_default"):
        kwargs["force_default"] = True
    if "extension" in case:
        if case["extension"] != "jpg":
            raise ValueError("libgravatar only adds .jpg, not %r" % case["extension"])
        kwargs["filetype_extension"] = True
    return Gravatar(case["email"]).get_image(**kwargs)


def rebase(url, base):
    """`url` with the scheme and host of `base`: path and query stay as the library made them."""
    target = urllib.parse.urlsplit(base)
    parts = urllib.parse.urlsplit(url)
    if parts.netloc != "www.gravatar.com":
        raise ValueError("libgravatar made an unexpected URL: %s" % url)
    return urllib.parse.urlunsplit(
        (target.scheme, target.netloc, parts.path, parts.query, parts.fragment)
    )


def fetch(url):
    """Status, Content-Type and body of a GET, as an app's image proxy would see them."""
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
            return response.status, response.headers.get("Content-Type"), response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers.get("Content-Type"), error.read()


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: libgravatar_client.py '<plan JSON>'")
    plan = json.loads(sys.argv[1])
    results = []
    for case in plan["cases"]:
        url = rebase(build(case), plan["base"])
        result = {"name": case["name"], "url": url}
        if plan["mode"] == "fetch":
            status, content_type, body = fetch(url)
            result.update(
                status=status,
                content_type=content_type,
                body=base64.b64encode(body).decode("ascii"),
            )
        elif plan["mode"] != "build":
            sys.exit("unknown mode %r" % plan["mode"])
        results.append(result)
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
