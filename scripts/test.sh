#!/usr/bin/env bash
# 运行 zwyun 的全部测试:先检查测试所需的系统软件包,缺少的用 apt-get 安装
# (需要 root,或可用 sudo),然后运行 cargo test --release。
# 额外参数传给 cargo test,如:bash scripts/test.sh --test it -- mail::
# .ci/run 调用的也是这个脚本。
set -euo pipefail
cd "$(dirname "$0")/.."

# What the tests use, as Debian packages:
# - LibreOffice converts every generated document to PDF; Noto CJK so the
#   pages render as a clerk sees them; Liberation (metric-compatible with
#   Times New Roman) so Latin text takes the width it takes on Windows;
#   poppler-utils (pdftotext) reads the word boxes back.
# - The mail tests run their own IMAP (dovecot) and SMTP (aiosmtpd) servers on
#   127.0.0.1 with a test CA made by openssl; dovecot is not a system service.
# - The web desk's HTTPS test talks to `zwyun serve` with curl; its browser
#   test drives Debian's Chromium (headless) through chromedriver.
# (grep reads all of its input: with pipefail, an early exit of grep -q would
# fail the pipeline through SIGPIPE.)
need=()
command -v soffice >/dev/null 2>&1 || need+=(libreoffice-writer libreoffice-calc)
fc-list 2>/dev/null | grep -i "Noto.*CJK" >/dev/null || need+=(fonts-noto-cjk)
fc-list 2>/dev/null | grep -i "Liberation Serif" >/dev/null || need+=(fonts-liberation2)
command -v pdftotext >/dev/null 2>&1 || need+=(poppler-utils)
test -x /usr/sbin/dovecot || need+=(dovecot-imapd)
/usr/bin/python3 -c "import aiosmtpd" 2>/dev/null || need+=(python3-aiosmtpd)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v curl >/dev/null 2>&1 || need+=(curl)
test -x /usr/bin/chromium || need+=(chromium)
test -x /usr/bin/chromedriver || test -x /usr/lib/chromium/chromedriver || need+=(chromium-driver)

if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ]; then
        sudo=()
    elif command -v sudo >/dev/null 2>&1; then
        sudo=(sudo)
    else
        sudo=(none)
    fi
    if ! command -v apt-get >/dev/null 2>&1 || [ "${sudo[*]}" = none ]; then
        echo "测试需要以下软件包,但无法自动安装(需要 Debian/Ubuntu 的 apt-get 和 root 权限):" >&2
        echo "  ${need[*]}" >&2
        echo "请由管理员安装后再运行:apt-get install --no-install-recommends ${need[*]}" >&2
        exit 2
    fi
    echo "安装测试所需的软件包:${need[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    # The package starts dovecot as a system service; the tests run their own.
    "${sudo[@]}" systemctl disable --now dovecot.service >/dev/null 2>&1 || true
fi

exec cargo test --release --locked "$@"
