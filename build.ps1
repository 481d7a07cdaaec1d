<#
.SYNOPSIS
    Nimbus tasks on Windows: the PowerShell counterpart of the Makefile.

.DESCRIPTION
    A thin wrapper, like the Makefile: it only makes sure .venv exists with the
    current requirements, then runs the same Python entry points (nimbus.launcher,
    pytest, bench, ruff). Any behaviour worth having belongs in those, not here.

    This script has not been executed on Windows in CI; keep it small enough to
    check by reading.

.EXAMPLE
    .\build.ps1 run
.EXAMPLE
    .\build.ps1 test -k tenancy -x
#>
[CmdletBinding()]
param(
    # Same names as the Makefile targets; install is also make's default goal.
    [Parameter(Position = 0)]
    [ValidateSet('install', 'run', 'test', 'bench', 'lint', 'format')]
    [string] $Task = 'install',

    # Passed on to pytest (like PYTEST_ARGS) or to bench (like B).
    [Parameter(Position = 1, ValueFromRemainingArguments = $true)]
    [string[]] $Arguments = @()
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$Venv = Join-Path $PSScriptRoot '.venv'
$Python = Join-Path $Venv 'Scripts\python.exe'
$Stamp = Join-Path $Venv '.installed'
# The files the Makefile's install stamp depends on.
$RequirementFiles = @('requirements\base.txt', 'requirements\dev.txt', 'requirements\constraints.txt')

# Native commands do not stop the script on failure by themselves.
function Invoke-Native {
    param([string] $Exe, [string[]] $ArgumentList)
    & $Exe @ArgumentList
    if ($LASTEXITCODE -ne 0) {
        exit $LASTEXITCODE
    }
}

function Get-RequirementsHash {
    $hashes = foreach ($file in $RequirementFiles) {
        (Get-FileHash -Algorithm SHA256 -LiteralPath (Join-Path $PSScriptRoot $file)).Hash
    }
    return ($hashes -join ' ')
}

function Install-Environment {
    if (-not (Test-Path -LiteralPath $Python)) {
        if (-not (Get-Command py -ErrorAction SilentlyContinue)) {
            throw 'The Python launcher (py) was not found; install Python 3.11 from python.org.'
        }
        Invoke-Native 'py' @('-3.11', '-m', 'venv', $Venv)
    }
    $wanted = Get-RequirementsHash
    $installed = ''
    if (Test-Path -LiteralPath $Stamp) {
        $installed = (Get-Content -LiteralPath $Stamp -Raw).Trim()
    }
    # Re-install only when a requirements file changed, as the Makefile does.
    if ($installed -ne $wanted) {
        Invoke-Native $Python @('-m', 'pip', 'install', '--quiet', '--disable-pip-version-check',
            '-r', 'requirements\dev.txt', '-c', 'requirements\constraints.txt')
        Set-Content -LiteralPath $Stamp -Value $wanted -Encoding ascii
    }
}

Push-Location $PSScriptRoot
try {
    Install-Environment
    switch ($Task) {
        'install' { }
        'run' { Invoke-Native $Python @('-m', 'nimbus.launcher') }
        'test' {
            # The SSO tests' protocol peers (tests/peers) come from npm, as the Makefile installs them.
            Invoke-Native 'npm' @('ci', '--prefix', 'tests\peers', '--no-audit', '--no-fund', '--silent')
            Invoke-Native $Python (@('-m', 'pytest') + $Arguments)
        }
        'bench' { Invoke-Native $Python (@('-m', 'bench') + $Arguments) }
        'lint' {
            Invoke-Native $Python @('-m', 'ruff', 'check', '.')
            Invoke-Native $Python @('-m', 'ruff', 'format', '--check', '.')
        }
        'format' {
            Invoke-Native $Python @('-m', 'ruff', 'check', '--fix', '.')
            Invoke-Native $Python @('-m', 'ruff', 'format', '.')
        }
    }
}
finally {
    Pop-Location
}
