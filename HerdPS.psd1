@{
    # ModuleVersion must equal <HerdVersion> in Directory.Build.props (a module test checks they agree).
    RootModule           = 'HerdPS.dll'
    ModuleVersion        = '0.1.0'
    GUID                 = '5f0c2a8e-6d1b-4b7e-9a43-2f1d8c7e4b19'
    Author               = 'HerdPS contributors'
    CompanyName          = 'HerdPS contributors'
    Copyright            = '(c) HerdPS contributors'
    Description          = 'Run commands over SSH across fleets of hosts, in parallel, with one typed result per host.'
    CompatiblePSEditions = @('Desktop', 'Core')
    PowerShellVersion    = '5.1'
    FormatsToProcess     = @('HerdPS.format.ps1xml')
    # Explicit, never a wildcard: a module test checks this list against the cmdlet classes in HerdPS.dll.
    CmdletsToExport      = @(
        'Compare-FleetFile'
        'Compare-FleetHistory'
        'Compare-FleetSnapshot'
        'Disconnect-Fleet'
        'Get-FleetHistory'
        'Get-FleetHost'
        'Get-FleetScript'
        'Get-FleetSnapshot'
        'Get-FleetTag'
        'Invoke-FleetCommand'
        'Invoke-FleetScript'
        'Receive-FleetFile'
        'Send-FleetFile'
        'Test-FleetConnection'
        'Watch-Fleet'
        'Watch-FleetLog'
    )
    FunctionsToExport    = @()
    VariablesToExport    = @()
    AliasesToExport      = @()
    PrivateData          = @{
        PSData = @{
            Tags       = @('SSH', 'Fleet', 'Parallel', 'Remote', 'Linux', 'OpenSSH')
            ProjectUri = ''
        }
    }
}
