"""html_check.py: checks a page written by `caviar report --html` (run by
cli_html.sh with Debian's /usr/bin/python3).

  html_check.py static PAGE [MARKS]
      the page alone: a whole HTML document; every inline <svg> well-formed
      XML (and, given MARKS, each parameter's figure has MARKS marks of class
      "trial", each with a <title> naming its trial); nothing that would
      fetch anything from outside the page.
  html_check.py browser SHOTDIR PAGE...
      each page in headless Chromium (selenium + chromedriver), as a person
      would look at it: no console error and no request but the page itself;
      clicking a leaderboard heading sorts the rows by that column (numbers
      as numbers, "-" last), clicking it again reverses them, a reload
      keeps the sort; the copy
      button answers; the print layout hides the navigation and the rows
      below the top; a screenshot that is not blank. Prints each page's load
      time.
  html_check.py poll PAGE STOPFILE
      while STOPFILE does not exist, reads PAGE as often as it can: every
      version seen must be a whole page (as `static` checks it); prints how
      many versions it saw, and how many of them reload themselves.
Exits 1 with the reasons on a failure.
"""
import json
import os
import re
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, file=sys.stderr)


def done():
    sys.exit(1 if failures else 0)


# Anything that would make a browser fetch: an attribute naming a resource
# that is not a fragment of the page, CSS that imports or points at a URL,
# a scheme, or a protocol-relative "//".
OUTSIDE = [
    (re.compile(r"""\b(?:src|href|xlink:href|action|formaction|poster|srcset|data|manifest)"""
                r"""\s*=\s*(?!["']?#)""", re.I), "an attribute naming a resource"),
    (re.compile(r"""url\(\s*["']?(?!#)""", re.I), "a CSS url() outside the page"),
    (re.compile(r"@import", re.I), "a CSS @import"),
    (re.compile(r"\b(?:https?|ftp|file|wss?):", re.I), "a URL scheme"),
    (re.compile(r"//"), "a protocol-relative //"),
    (re.compile(r"<(?:link|iframe|img|object|embed|audio|video|source)\b", re.I),
     "an element that loads something"),
]


def check_text(page, text, marks=None):
    """The checks that need no browser; returns how many SVGs it parsed."""
    if not text.startswith("<!DOCTYPE html>\n") or not text.endswith("</html>\n"):
        fail(f"{page}: not a whole page (head {text[:20]!r}, tail {text[-20:]!r})")
        return 0
    for rx, what in OUTSIDE:
        m = rx.search(text)
        if m:
            fail(f"{page}: {what}: ...{text[max(0, m.start() - 60):m.end() + 40]!r}...")
    svgs = re.findall(r"<svg\b.*?</svg>", text, re.S)
    if text.count("<svg") != len(svgs):
        fail(f"{page}: {text.count('<svg')} <svg and {len(svgs)} closed")
    for k, s in enumerate(svgs):
        try:
            root = ET.fromstring(s)
        except ET.ParseError as e:
            fail(f"{page}: svg {k} is not well-formed: {e}")
            continue
        if marks is None or "class=\"fig\"" not in s or " against " not in s[:400]:
            continue
        trials = [el for el in root.iter() if el.get("class") == "trial"]
        if len(trials) != marks:
            fail(f"{page}: figure {root.findtext('title')!r}: {len(trials)} marks, expected {marks}")
        for el in trials:
            t = el.findtext("title") or ""
            if not re.match(r"trial \d+ \(round \d+", t):
                fail(f"{page}: a mark without a tooltip naming its trial: {t!r}")
                break
    return len(svgs)


def static(page, marks=None):
    with open(page, encoding="utf-8") as f:
        text = f.read()
    n = check_text(page, text, None if marks is None else int(marks))
    if n < 4:
        fail(f"{page}: {n} figures")
    print(f"{page}: {len(text)} bytes, {n} inline SVGs")
    done()


def poll(page, stopfile):
    seen, reloading, last = 0, 0, None
    while not os.path.exists(stopfile):
        try:
            with open(page, encoding="utf-8") as f:
                text = f.read()
        except FileNotFoundError:
            time.sleep(0.02)
            continue
        if text != last:
            seen += 1
            reloading += '<meta http-equiv="refresh"' in text
            before = len(failures)
            check_text(page, text)
            if len(failures) > before:
                with open(page + ".bad", "w", encoding="utf-8") as f:
                    f.write(text)
                break
            last = text
        time.sleep(0.01)
    print(f"{seen} versions seen, {reloading} of them reloading themselves")
    done()


def browser(shotdir, pages):
    from PIL import Image
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    opts = webdriver.ChromeOptions()
    profile = tempfile.mkdtemp(prefix="caviar-chromium-")
    for a in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--no-first-run", "--disable-extensions", "--window-size=1280,2200",
              "--user-data-dir=" + profile]:
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    try:
        driver.set_page_load_timeout(30)
        driver.set_script_timeout(30)
        for k, page in enumerate(pages):
            look(driver, page, os.path.join(shotdir, f"page{k}.png"), Image, By)
    finally:
        driver.quit()
    done()


def board(driver):
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('#board tbody tr'))"
        ".map(r => Array.from(r.cells).map(c => c.textContent));")


def check_sorted(page, rows, col, name, up):
    vals = [r[col] for r in rows]
    present = [v for v in vals if v != "-"]
    if vals != present + ["-"] * (len(vals) - len(present)):
        fail(f"{page}: sorted by {name}: '-' not last: {vals}")
    try:
        keys = [float(v) for v in present]
    except ValueError:
        keys = present
    if keys != sorted(keys, reverse=not up):
        fail(f"{page}: sorted by {name} {'up' if up else 'down'}: {vals}")


def look(driver, page, shot, Image, By):
    url = "file://" + os.path.abspath(page)
    driver.get_log("performance")
    driver.get(url)
    timing = driver.execute_script(
        "const n = performance.getEntriesByType('navigation')[0];"
        "return [n.domContentLoadedEventEnd, n.loadEventEnd];")
    print(f"{page}: loaded in Chromium: DOMContentLoaded {timing[0]:.0f} ms, "
          f"load {timing[1]:.0f} ms")

    # every request the page made: itself only
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg.get("method") == "Network.requestWillBeSent":
            req = msg["params"]["request"]["url"]
            if msg["params"].get("documentURL") == url and req != url:
                fail(f"{page}: the page asked for {req}")

    rows = board(driver)
    heads = [h.text.strip(" \u25b2\u25bc") for h in
             driver.find_elements(By.CSS_SELECTOR, "#board thead th")]
    if len(rows) < 2 or not heads:
        fail(f"{page}: a leaderboard of {len(rows)} rows")
        return
    if [r[0] for r in rows] != [str(i + 1) for i in range(len(rows))]:
        fail(f"{page}: the leaderboard does not start in rank order")
    for name in ["dev_loss", "trial", "status", "dev_loss", "rank"]:
        col = heads.index(name)
        before = board(driver)
        button = driver.find_elements(By.CSS_SELECTOR, "#board thead th button")[col]
        button.click()
        up = driver.find_elements(By.CSS_SELECTOR, "#board thead th")[col] \
            .get_attribute("aria-sort") == "ascending"
        after = board(driver)
        if sorted(map(tuple, after)) != sorted(map(tuple, before)):
            fail(f"{page}: sorting by {name} lost or changed rows")
        check_sorted(page, after, col, name, up)
        if name == "trial" and after == before:
            fail(f"{page}: clicking 'trial' did not change the order")
    # clicked twice: dev_loss ended descending; rank last: back in rank order
    if board(driver) != rows:
        fail(f"{page}: sorting by rank again does not give the first order")
    # a reload (a watched page reloads itself) keeps the sort
    col = heads.index("dev_loss")
    driver.find_elements(By.CSS_SELECTOR, "#board thead th button")[col].click()
    driver.refresh()
    if driver.find_elements(By.CSS_SELECTOR, "#board thead th")[col] \
            .get_attribute("aria-sort") != "ascending":
        fail(f"{page}: a reload forgets the sort")
    check_sorted(page, board(driver), col, "dev_loss after a reload", True)

    # a mark's tooltip
    tip = driver.execute_script(
        "const t = document.querySelector('#effects svg .trial title');"
        "return t ? t.textContent : '';")
    if not re.match(r"trial \d+ \(round \d+.*\): \w+ = .+, dev_\w+ = [0-9.]+$", tip):
        fail(f"{page}: a point's tooltip reads {tip!r}")

    # the copy button answers
    copy = driver.find_elements(By.ID, "copy")
    if copy:
        copy[0].click()
        time.sleep(0.2)
        said = driver.find_element(By.ID, "copied").text
        if not said:
            fail(f"{page}: the copy button said nothing")

    driver.set_window_size(1280, 2200)
    driver.save_screenshot(shot)
    im = Image.open(shot).convert("RGB")
    colours = len(set(im.getdata()))
    ink = sum(1 for p in im.getdata() if p != (255, 255, 255)) / (im.width * im.height)
    print(f"{page}: screenshot {im.width}x{im.height}, {colours} colours, {ink:.1%} not white")
    if colours < 100 or ink < 0.03:
        fail(f"{page}: the screenshot looks blank ({colours} colours, {ink:.1%} ink)")

    # the print layout: no navigation or buttons, only the top rows
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    shown = driver.execute_script(
        "const vis = e => e && getComputedStyle(e).display !== 'none';"
        "return [vis(document.querySelector('nav')), vis(document.getElementById('copy')),"
        " Array.from(document.querySelectorAll('#board tbody tr')).filter(vis).length];")
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    if shown[0] or shown[1]:
        fail(f"{page}: printed with its navigation or buttons")
    if shown[2] == len(rows) and len(rows) > 10:
        fail(f"{page}: printed with all {len(rows)} leaderboard rows")

    errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
    for e in errors:
        fail(f"{page}: console: {e['message']}")


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else ""
    if what == "static" and len(sys.argv) in (3, 4):
        static(*sys.argv[2:])
    elif what == "poll" and len(sys.argv) == 4:
        poll(*sys.argv[2:])
    elif what == "browser" and len(sys.argv) >= 4:
        browser(sys.argv[2], sys.argv[3:])
    else:
        sys.exit(__doc__)
