#!/usr/bin/env python3
"""Opens a sweep's report.html in headless Chromium and checks what the browser built: the DOM it
parsed (chromium --dump-dom) holds the charts, one optimization-history mark per trial that trained,
each survivor's mark at its summary.json value; and a screenshot of it is a picture, not a blank.
  check_report_browser.py DIR      exit 77 where chromium is not installed"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser


class Marks(HTMLParser):
    def __init__(self):
        super().__init__()
        self.svgs, self.marks = 0, {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "svg":
            self.svgs += 1
        if tag == "circle" and "data-t" in a:
            self.marks[int(a["data-t"])] = float(a["data-v"])


def main():
    out = sys.argv[1]
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        print("check_report_browser.py: skipped: chromium is not installed")
        sys.exit(77)
    page = os.path.abspath(os.path.join(out, "report.html"))
    with tempfile.TemporaryDirectory() as profile:
        args = [browser, "--headless=new", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}",
                "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>"]
        dom = subprocess.run(args + ["--dump-dom", "file://" + page], capture_output=True, text=True, timeout=120).stdout
        shot = os.path.join(profile, "shot.png")
        subprocess.run(args + ["--window-size=1280,2400", f"--screenshot={shot}", "file://" + page],
                       capture_output=True, timeout=120)
        size = os.path.getsize(shot) if os.path.exists(shot) else 0
    parser = Marks()
    parser.feed(dom)
    summary = json.load(open(os.path.join(out, "summary.json")))
    trained = [t for t in summary["trials"] if t["epochs"] > 0]
    if parser.svgs < 4:
        sys.exit(f"check_report_browser.py: the browser's page has {parser.svgs} charts")
    if len(parser.marks) != len(trained):
        sys.exit(f"check_report_browser.py: {len(parser.marks)} history marks for {len(trained)} trials")
    metric = summary["metric"]
    for t in trained:
        if t["status"] == "survived" and abs(parser.marks[t["trial"]] - t[metric]) > 1e-6:
            sys.exit(f"check_report_browser.py: trial {t['trial']}'s mark is {parser.marks[t['trial']]}, not {t[metric]}")
    # A blank 1280 x 2400 page compresses to a few kB; charts and text make it far larger.
    if size < 50000:
        sys.exit(f"check_report_browser.py: the screenshot is {size} bytes: nothing drawn")
    print(json.dumps({"charts": parser.svgs, "marks": len(parser.marks), "screenshot_bytes": size}))


if __name__ == "__main__":
    main()
