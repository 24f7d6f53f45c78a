"""Sign in to a running lightboard demo as each demo login and check its landing screen.

Usage: python scripts/smoke_demo.py http://127.0.0.1:8000
"""

import http.cookiejar
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

LANDINGS = {
    "staff": "/tasks/mine/",
    "leader": "/reviews/confirmations/",
    "leadership": "/reviews/meetings/",
    "inspector": "/reviews/followups/",
    "admin": "/admin/",
}


def wait_for(base, seconds=120):
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(f"{base}/accounts/login/", timeout=5) as response:
                return response.read().decode()
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise SystemExit(f"FAIL: no login page at {base} after {seconds}s") from None
            time.sleep(1)


def sign_in(base, username, password="demo"):
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/accounts/login/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"username": username, "password": password, "csrfmiddlewaretoken": token}).encode()
    response = opener.open(f"{base}/accounts/login/", data=form)
    return response.status, urllib.parse.urlparse(response.geturl()).path, response.read().decode()


def main(base):
    base = base.rstrip("/")
    login_page = wait_for(base)
    assert "登录" in login_page, "the login page is not in Chinese"
    print(f"ok: {base}/accounts/login/ serves the login page")
    failures = 0
    for username, landing in LANDINGS.items():
        status, path, _html = sign_in(base, username)
        if status == 200 and path == landing:
            print(f"ok: {username} signs in and lands on {path}")
        else:
            failures += 1
            print(f"FAIL: {username} landed on {path} ({status}), expected {landing}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000"))
