#Requires -Version 7.0
<#
.SYNOPSIS
    Runs the Pester suites in tests/Pester against the packaged module and prints one machine-readable line:
    "Pester: N passed, N failed, N skipped" (./test.sh adds it to its total). Exits 1 when a test failed or
    none ran.
.PARAMETER PesterPath
    Pester.psd1 of Pester 5 (./test.sh passes the copy the NuGet package source serves, tools/ of Pester 5.7.1).
#>
param(
    [Parameter(Mandatory)] [string] $PesterPath
)
$ErrorActionPreference = 'Stop'
Import-Module $PesterPath -Force
$config = New-PesterConfiguration
$config.Run.Path = $PSScriptRoot
$config.Run.PassThru = $true
$config.Run.Exit = $false
$config.Output.Verbosity = 'Detailed'
$result = Invoke-Pester -Configuration $config
$skipped = $result.SkippedCount + $result.NotRunCount
"Pester: $($result.PassedCount) passed, $($result.FailedCount) failed, $skipped skipped"
if ($result.FailedCount -gt 0 -or $result.PassedCount -eq 0) { exit 1 }
