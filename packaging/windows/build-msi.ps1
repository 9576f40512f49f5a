# Builds the Windows installer: target\wix\satchel-<version>-<arch>.msi
# Untested here: see README.md.
#
# Usage (PowerShell, from anywhere in the repository):
#   packaging\windows\build-msi.ps1                 # x86_64-pc-windows-msvc
#   packaging\windows\build-msi.ps1 -Arch aarch64   # aarch64-pc-windows-msvc
#
# Needs: Rust (rustup, MSVC toolchain with the Visual Studio C++ build
# tools), the WiX Toolset v3 (candle.exe and light.exe; cargo-wix finds them
# through the WIX environment variable its installer sets), and cargo-wix
# (installed below when missing).
param(
    [ValidateSet("x86_64", "aarch64", "i686")]
    [string]$Arch = "x86_64"
)
$ErrorActionPreference = "Stop"

$root = Resolve-Path (Join-Path $PSScriptRoot "..\..")
Set-Location $root
$target = "$Arch-pc-windows-msvc"

function Run([string]$exe, [string[]]$argv) {
    & $exe @argv
    if ($LASTEXITCODE -ne 0) { throw "$exe $($argv -join ' ') failed ($LASTEXITCODE)" }
}

Run rustup @("target", "add", $target)
Run cargo @("build", "--release", "-p", "satchel", "--target", $target)

if (-not (Get-Command cargo-wix -ErrorAction SilentlyContinue)) {
    Run cargo @("install", "cargo-wix", "--locked")
}

# --include: the source lives in packaging\windows rather than app\wix.
Run cargo @("wix", "-p", "satchel", "--no-build", "--nocapture",
    "--target", $target,
    "--include", "packaging\windows\main.wxs",
    "--output", "target\wix\")

Get-ChildItem target\wix\*.msi | Format-Table Name, Length
