#!/usr/bin/env python3
"""Starts the sandbox (target/debug/myna-sandbox) and loads the playground
from the release package in headless Chromium under the strict CSP: checks
that a screen rendered in its shadow root, that the catalogue and a
validation verdict rendered, and that no CSP violation happened, in ja and
en. Fails (exit 1) otherwise."""

import os
import re
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port, seconds=10):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"server on {port} did not start")


def dump_dom(url):
    with tempfile.TemporaryDirectory() as profile:
        result = subprocess.run(
            [
                "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-dev-shm-usage", f"--user-data-dir={profile}",
                "--virtual-time-budget=15000", "--dump-dom", url,
            ],
            capture_output=True, text=True, timeout=120,
        )
    return result.stdout


def screen_chars(dom):
    found = re.search(r'data-screen-chars="(\d+)"', dom)
    return int(found.group(1)) if found else 0


def main():
    port, authority = free_port(), free_port()
    data = tempfile.TemporaryDirectory()
    server = subprocess.Popen(
        [os.path.join(ROOT, "target", "debug", "myna-sandbox"), "--operator", f"127.0.0.1:{port}",
         "--authority", f"127.0.0.1:{authority}", "--data-dir", data.name],
        cwd=ROOT, stdout=subprocess.DEVNULL,
    )
    failures = []
    try:
        wait_for(port)
        for lang, expect in (("ja", "生化学的検査"), ("en", "Biochemistry")):
            dom = dump_dom(f"http://127.0.0.1:{port}/?lang={lang}")
            state = re.search(r'data-state="([a-z]+)"', dom)
            csp = re.search(r'data-csp-violations="(\d+)"', dom)
            checks = {
                "playground reached the ready state": state and state.group(1) == "ready",
                "no CSP violation": csp and csp.group(1) == "0",
                f"catalogue rendered ({expect})": expect in dom,
                "the sample request was judged": 'data-verdict="' in dom,
                "HbA1c listed": "HbA1c" in dom,
                "a screen rendered in its shadow root": screen_chars(dom) > 200,
            }
            for name, ok in checks.items():
                print(f"{'ok  ' if ok else 'FAIL'} [{lang}] {name}")
                if not ok:
                    failures.append(f"[{lang}] {name}")
    finally:
        server.terminate()
        server.wait()
        data.cleanup()
    print(f"{6 * 2 - len(failures)} passed, {len(failures)} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
