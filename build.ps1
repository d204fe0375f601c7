#Requires -Version 5.1
<#
.SYNOPSIS
    Builds, tests, documents and packages HerdPS.
.DESCRIPTION
    Build   : dotnet build of the solution.
    Test    : dotnet test of the solution, then the Pester suite in tests/Pester (an installed Pester 5, else the
              copy in the NuGet cache).
    Docs    : regenerates en-US/ (MAML and about help) from docs/*.md with tools/HerdPS.HelpGen.
    Package : lays out out/HerdPS/<version>/ ready for Import-Module (dotnet publish src/HerdPS; see docs/building.md).
    Without PowerShell installed, run it with the pwsh built from tools/pwsh, or run the same steps with plain
    dotnet (./test.sh), as docs/building.md shows.
.EXAMPLE
    ./build.ps1 Build, Package, Test
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Docs', 'Package')]
    [string[]] $Task = @('Build', 'Package', 'Test'),
    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release'
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$repo = $PSScriptRoot

function Invoke-Dotnet {
    param([string[]] $Arguments)
    Write-Host "dotnet $($Arguments -join ' ')"
    & dotnet @Arguments
    if ($LASTEXITCODE -ne 0) { throw "dotnet $($Arguments[0]) failed with exit code $LASTEXITCODE" }
}

function Get-HerdVersion {
    $props = [xml](Get-Content (Join-Path $repo 'Directory.Build.props'))
    foreach ($group in $props.Project.PropertyGroup) {
        if ($group.HerdVersion) { return [string] $group.HerdVersion }
    }
    throw 'HerdVersion not found in Directory.Build.props'
}

foreach ($step in $Task) {
    switch ($step) {
        'Build' {
            Invoke-Dotnet @('build', (Join-Path $repo 'HerdPS.sln'), '-c', $Configuration, '--nologo')
        }
        'Docs' {
            Invoke-Dotnet @('run', '--project', (Join-Path $repo 'tools/HerdPS.HelpGen'), '-c', $Configuration, '--', $repo)
        }
        'Package' {
            Invoke-Dotnet @('publish', (Join-Path $repo 'src/HerdPS'), '-c', $Configuration, '--nologo')
            $moduleDir = Join-Path $repo ("out/HerdPS/" + (Get-HerdVersion))
            $manifest = Test-ModuleManifest (Join-Path $moduleDir 'HerdPS.psd1')
            Write-Host "Packaged HerdPS $($manifest.Version) in $moduleDir"
        }
        'Test' {
            Invoke-Dotnet @('test', (Join-Path $repo 'HerdPS.sln'), '-c', $Configuration, '--nologo')
            # Pester 5: an installed one, else the copy the NuGet cache holds (building tools/pwsh downloads it).
            $pester = Get-Module -ListAvailable Pester | Where-Object { $_.Version.Major -eq 5 } | Sort-Object Version -Descending | Select-Object -First 1 -ExpandProperty Path
            if (-not $pester) {
                $packages = ((& dotnet nuget locals global-packages --list) -replace '^global-packages:\s*', '').Trim()
                $pester = Join-Path $packages 'pester/5.7.1/tools/Pester.psd1'
            }
            if (-not (Test-Path $pester)) { throw "Pester 5 not found (Install-Module Pester -MinimumVersion 5.0, or dotnet build tools/pwsh to fetch it)" }
            & (Join-Path $repo 'tests/Pester/Invoke-PesterSuite.ps1') -PesterPath $pester
            if ($LASTEXITCODE -ne 0) { throw 'Pester tests failed' }
        }
    }
}
