#Requires -Version 5.1
# Pester 5 suite: imports the packaged module (out/HerdPS/<version>, made by `./build.ps1 Package` or
# `dotnet publish src/HerdPS`) and runs each cmdlet against a real sshd fleet on loopback (tests/fleet/start-fleet.sh).
# Needs PowerShell, Pester 5, OpenSSH client and server (Linux/macOS: the fleet script is bash).

BeforeAll {
    $repo = Resolve-Path (Join-Path $PSScriptRoot '../..')
    $version = ([xml](Get-Content (Join-Path $repo 'Directory.Build.props'))).Project.PropertyGroup.HerdVersion | Where-Object { $_ } | Select-Object -First 1
    $moduleDir = Join-Path $repo "out/HerdPS/$version"
    if (-not (Test-Path (Join-Path $moduleDir 'HerdPS.psd1'))) { throw "Package the module first: ./build.ps1 Package (or dotnet publish src/HerdPS)" }
    $script:manifest = Join-Path $moduleDir 'HerdPS.psd1'
    Import-Module $script:manifest -Force

    $script:fleetDir = Join-Path ([IO.Path]::GetTempPath()) ("herd-pester-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
    $settings = @{}
    & bash (Join-Path $repo 'tests/fleet/start-fleet.sh') $script:fleetDir | ForEach-Object {
        $key, $value = $_ -split '=', 2
        $settings[$key] = $value
    }
    if ($LASTEXITCODE -ne 0) { throw "start-fleet.sh failed ($LASTEXITCODE)" }
    $env:HERD_CONTROL_DIR = Join-Path $script:fleetDir 'cm'
    # Every Invoke-FleetCommand and Watch-Fleet run records: into a test history, never the user's.
    $env:HERD_HISTORY = Join-Path $script:fleetDir 'history.db'
    $script:common = @{ InventoryPath = $settings.INVENTORY; SshConfigPath = $settings.SSH_CONFIG; ConnectTimeoutSec = 5 }
}

AfterAll {
    Disconnect-Fleet -ErrorAction SilentlyContinue
    & bash (Join-Path $repo 'tests/fleet/start-fleet.sh') --stop $script:fleetDir
    Remove-Item -Recurse -Force $script:fleetDir -ErrorAction SilentlyContinue
    Remove-Module HerdPS -ErrorAction SilentlyContinue
}

Describe 'Module' {
    It 'exports exactly the manifest cmdlets' {
        (Get-Command -Module HerdPS).Name | Sort-Object | Should -Be @('Compare-FleetFile', 'Compare-FleetHistory', 'Compare-FleetSnapshot', 'Disconnect-Fleet', 'Get-FleetHistory', 'Get-FleetHost', 'Get-FleetScript', 'Get-FleetSnapshot', 'Get-FleetTag', 'Invoke-FleetCommand', 'Invoke-FleetScript', 'Receive-FleetFile', 'Send-FleetFile', 'Test-FleetConnection', 'Watch-Fleet', 'Watch-FleetLog')
    }
    It 'has full help for Invoke-FleetCommand' {
        $help = Get-Help Invoke-FleetCommand -Full
        $help.Synopsis | Should -Match 'parallel'
        @($help.Examples.Example).Count | Should -BeGreaterOrEqual 2
        ($help.Parameters.Parameter | Where-Object Name -eq 'HostName').Aliases | Should -Match 'ComputerName'
    }
}

Describe 'Get-FleetHost and Get-FleetTag' {
    It 'selects by tag' {
        (Get-FleetHost -InventoryPath $common.InventoryPath -Tag prod).HostName | Should -Be @('good-01', 'good-02')
    }
    It 'counts hosts per tag' {
        $prod = Get-FleetTag -InventoryPath $common.InventoryPath | Where-Object Tag -eq 'prod'
        $prod.HostCount | Should -Be 2
    }
}

Describe 'Invoke-FleetCommand' {
    It 'runs on every selected host and writes FleetResult objects' {
        $results = Invoke-FleetCommand @common -Group web -Command 'echo hello'
        $results.Count | Should -Be 3
        $results | ForEach-Object { $_.PSObject.TypeNames[0] | Should -Be 'HerdPS.FleetResult' }
        $results.StdOut | ForEach-Object { $_.Trim() | Should -Be 'hello' }
        ($results.Status | Select-Object -Unique) | Should -Be 'Succeeded'
    }
    It 'takes hosts from the pipeline by property name as one batch' {
        $results = Get-FleetHost -InventoryPath $common.InventoryPath -Tag prod | Invoke-FleetCommand @common 'hostname'
        ($results.HostName | Sort-Object) | Should -Be @('good-01', 'good-02')
    }
    It 'takes hosts from Import-Csv rows with a ComputerName column' {
        $csv = Join-Path $TestDrive 'servers.csv'
        'ComputerName', 'good-01', 'good-03' | Set-Content $csv
        (Import-Csv $csv | Invoke-FleetCommand @common 'true').HostName | Sort-Object | Should -Be @('good-01', 'good-03')
    }
    It 'treats a non-zero exit as a result, not an error' {
        $result = Invoke-FleetCommand @common -HostName good-01 -Command 'exit 3' -ErrorVariable errs
        $result.Status | Should -Be 'Failed'
        $result.ExitCode | Should -Be 3
        $errs | Should -BeNullOrEmpty
    }
    It 'writes the result and a stable error id for each fault host' {
        $results = Invoke-FleetCommand @common -Group faults -Command 'true' -ErrorVariable errs -ErrorAction SilentlyContinue
        $results.Count | Should -Be 3
        ($results.Status | Select-Object -Unique) | Should -Be 'Unreachable'
        $ids = $errs | ForEach-Object { "$($_.TargetObject)=$(($_.FullyQualifiedErrorId -split ',')[0])" } | Sort-Object
        $ids | Should -Be @('badkey-01=HostKeyMismatch', 'noauth-01=AuthenticationFailed', 'refused-01=ConnectionRefused')
        ($errs | Where-Object TargetObject -eq 'badkey-01').CategoryInfo.Category | Should -Be 'SecurityError'
    }
    It 'stops at the first error with -ErrorAction Stop' {
        { Invoke-FleetCommand @common -HostName refused-01 -Command 'true' -ErrorAction Stop } | Should -Throw -ErrorId 'ConnectionRefused,HerdPS.Commands.InvokeFleetCommandCommand'
    }
    It 'times a command out with CommandTimedOut' {
        $r = Invoke-FleetCommand @common -HostName good-01 -Command 'sleep 30' -TimeoutSec 2 -ErrorVariable errs -ErrorAction SilentlyContinue
        $r.Status | Should -Be 'TimedOut'
        ($errs[0].FullyQualifiedErrorId -split ',')[0] | Should -Be 'CommandTimedOut'
    }
    It 'runs nothing with -WhatIf' {
        Invoke-FleetCommand @common -Group web -Command 'touch /tmp/herd-whatif' -WhatIf | Should -BeNullOrEmpty
    }
    It 'exports clean CSV columns' {
        $csv = Join-Path $TestDrive 'out.csv'
        Invoke-FleetCommand @common -Tag prod -Command 'echo x' | Export-Csv -NoTypeInformation $csv
        (Import-Csv $csv)[0].PSObject.Properties.Name | Should -Contain 'HostName'
        (Import-Csv $csv)[0].PSObject.Properties.Name | Should -Contain 'ExitCode'
    }
    It 'runs as a job' {
        $job = Invoke-FleetCommand @common -Group web -Command 'echo job' -AsJob
        $job | Should -BeOfType ([System.Management.Automation.Job])
        $results = $job | Wait-Job -Timeout 60 | Receive-Job
        $results.Count | Should -Be 3
        $job.State | Should -Be 'Completed'
        $job | Remove-Job
    }
    It 'shares the pool across runspaces' -Skip:($PSVersionTable.PSVersion.Major -lt 7) {
        $c = $common
        $m = $script:manifest
        # A parallel runspace starts without the caller's modules: a module imported by path is imported again there.
        $results = 1..3 | ForEach-Object -Parallel { Import-Module $using:m; Invoke-FleetCommand @using:c -Group web -Command 'true' -NoHistory } -ThrottleLimit 3
        $results.Count | Should -Be 9
        ($results.Status | Select-Object -Unique) | Should -Be 'Succeeded'
    }
}

Describe 'Invoke-FleetScript and Get-FleetScript' {
    It 'runs a built-in script: one typed result per host per step, parsed fields as numbers, then a summary' {
        $results = Invoke-FleetScript @common -Name disk -Group web -NoHistory
        $steps = $results | Where-Object { $_ -is [HerdPS.FleetScriptStepResult] }
        $steps.Count | Should -Be 3
        $steps | ForEach-Object { $_.Status | Should -Be 'Succeeded'; $_.UsePercent | Should -BeOfType [long] }
        $results[-1] | Should -BeOfType [HerdPS.FleetScriptSummary]
        $results[-1].SucceededCount | Should -Be 3
    }
    It 'writes the plan and runs nothing with -WhatIf' {
        $plan = Invoke-FleetScript @common -Name reboot-wait -Group web -WhatIf
        ($plan | Select-Object -ExpandProperty Batch -Unique) | Should -Be @(1, 2, 3)
        $plan[0].PSObject.TypeNames[0] | Should -Be 'HerdPS.FleetScriptPlanStep'
    }
    It 'lists the built-ins and checks a file without running it' {
        (Get-FleetScript -Name 'os-*').Name | Should -Be @('os-update', 'os-version')
        $bad = Join-Path $script:fleetDir 'bad.yaml'
        Set-Content -LiteralPath $bad -Value "steps:`n  - run: true`n    retires: 3"
        $info = Get-FleetScript -Path $bad -ErrorAction SilentlyContinue -ErrorVariable problems
        $info.IsValid | Should -BeFalse
        $info.Error | Should -Match 'bad.yaml:3:5: unknown key .retires.'
        $problems[0].FullyQualifiedErrorId | Should -Be 'ScriptInvalid,HerdPS.Commands.GetFleetScriptCommand'
    }
}

Describe 'Invoke-FleetCommand -Parser' {
    It 'adds the parsed fields as typed properties' {
        $results = Invoke-FleetCommand @common -Group web -Command 'df -P /' -Parser disk -NoHistory
        $results | ForEach-Object { $_.UsePercent | Should -BeOfType [long]; $_.Parsed['MountedOn'] | Should -Be '/' }
    }
}

Describe 'Test-FleetConnection' {
    It 'reports latency for good hosts and the reason for bad ones' {
        $r = Test-FleetConnection @common -HostName @('good-01', 'refused-01') -ErrorAction SilentlyContinue
        ($r | Where-Object HostName -eq 'good-01').Connected | Should -BeTrue
        ($r | Where-Object HostName -eq 'good-01').Latency | Should -BeOfType ([timespan])
        ($r | Where-Object HostName -eq 'refused-01').ErrorKind | Should -Be 'ConnectionRefused'
    }
}

Describe 'Disconnect-Fleet' {
    It 'closes pooled connections and never prompts' {
        Invoke-FleetCommand @common -HostName good-01 -Command 'true' | Out-Null
        $closed = Disconnect-Fleet -PassThru -Confirm:$false
        @($closed | Where-Object Closed).Count | Should -BeGreaterOrEqual 1
    }
}

Describe 'Empty pipeline' {
    It 'runs nothing when the pipeline brings no host (an empty selection would mean every host)' {
        @() | Invoke-FleetCommand @common -Command 'echo should-not-run' | Should -BeNullOrEmpty
    }
}

Describe 'Invoke-FleetCommand history' {
    BeforeAll {
        $script:history = Join-Path $TestDrive 'exec-history.db'
        $script:motd = Join-Path $TestDrive 'motd'
    }
    It 'records each run, which Get-FleetHistory returns with its results' {
        Invoke-FleetCommand @common -Group web -Command 'echo recorded' -HistoryPath $history | Out-Null
        $run = Get-FleetHistory -Last 1 -HistoryPath $history
        $run.PSObject.TypeNames[0] | Should -Be 'HerdPS.History.RecordedRun'
        $run.Kind | Should -Be 'exec'
        $run.Command | Should -Be 'echo recorded'
        $run.IsComplete | Should -BeTrue
        $run.Results.Count | Should -Be 3
        $run.Results[0].PSObject.TypeNames[0] | Should -Be 'HerdPS.FleetResult'
    }
    It 'records nothing with -NoHistory' {
        $before = @(Get-FleetHistory -HistoryPath $history -Last 1000).Count
        Invoke-FleetCommand @common -HostName good-01 -Command 'true' -HistoryPath $history -NoHistory | Out-Null
        @(Get-FleetHistory -HistoryPath $history -Last 1000).Count | Should -Be $before
    }
    It '-DiffLast warns when there is no earlier run, then marks the host that changed' {
        'v1' | Set-Content $motd
        $first = Invoke-FleetCommand @common -Group web -Command "cat '$motd'" -HistoryPath $history -DiffLast -WarningVariable warn
        "$warn" | Should -Match 'no earlier finished run'
        $first[0].Changed | Should -BeNullOrEmpty
        'v2' | Set-Content $motd
        $second = Invoke-FleetCommand @common -Group web -Command "cat '$motd'" -HistoryPath $history -DiffLast
        # All three hosts read the same file: all changed, with the diff.
        @($second | Where-Object Changed).Count | Should -Be 3
        ($second | Select-Object -First 1).Diff | Should -Match '\+v2'
        $second[0].PSObject.TypeNames[0] | Should -Be 'HerdPS.FleetResult'
    }
    It 'finds runs by command wildcard, by -Since and by id' {
        $runs = Get-FleetHistory -HistoryPath $history -Command 'cat *motd*' -Since 1h
        $runs.Count | Should -Be 2
        (Get-FleetHistory -HistoryPath $history -Id $runs[0].Id).Id | Should -Be $runs[0].Id
        Get-FleetHistory -HistoryPath $history -Id 999999 -ErrorVariable errs -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        ($errs[0].FullyQualifiedErrorId -split ',')[0] | Should -Be 'HistoryRunNotFound'
    }
}

Describe 'Compare-FleetHistory' {
    It 'writes one change per host between two runs, taking run objects or ids' {
        $history = Join-Path $TestDrive 'compare-history.db'
        $file = Join-Path $TestDrive 'compare.txt'
        'a' | Set-Content $file
        Invoke-FleetCommand @common -HostName @('good-01', 'good-02') -Command "cat '$file'" -HistoryPath $history | Out-Null
        'b' | Set-Content $file
        Invoke-FleetCommand @common -HostName @('good-01', 'good-02') -Command "cat '$file'" -HistoryPath $history | Out-Null
        $newest, $before = Get-FleetHistory -HistoryPath $history -Last 2
        $changes = Compare-FleetHistory -ReferenceRun $before -DifferenceRun $newest -HistoryPath $history
        $changes.Count | Should -Be 2
        $changes[0].PSObject.TypeNames[0] | Should -Be 'HerdPS.History.HostChange'
        ($changes.Change | Select-Object -Unique) | Should -Be 'Changed'
        $changes[0].Diff | Should -Match '\+b'
        (Compare-FleetHistory $newest.Id $newest.Id -HistoryPath $history).Change | Select-Object -Unique | Should -Be 'Unchanged'
        { Compare-FleetHistory 999998 999999 -HistoryPath $history } | Should -Throw -ErrorId 'HistoryRunNotFound,HerdPS.Commands.CompareFleetHistoryCommand'
    }
}

Describe 'Watch-Fleet' {
    It 'writes results while the watch runs, so a change made downstream is seen in the next iteration' {
        $history = Join-Path $TestDrive 'watch-history.db'
        $file = Join-Path $TestDrive 'watched.txt'
        'version 1' | Set-Content $file
        # The file changes when iteration 1's result reaches the pipeline: only possible if objects stream.
        $results = Watch-Fleet @common -HostName good-01 -Command "cat '$file'" -IntervalSec 1 -Count 3 -HistoryPath $history |
            ForEach-Object { if ($_.Iteration -eq 1) { 'version 2' | Set-Content $file }; $_ }
        $results.Count | Should -Be 3
        $results[0].PSObject.TypeNames[0] | Should -Be 'HerdPS.Watch.WatchResult'
        ($results | Where-Object Changed).Iteration | Should -Be 2
        ($results | Where-Object Changed).Diff | Should -Match '\+version 2'
        (Get-FleetHistory -HistoryPath $history -Last 3).Kind | Select-Object -Unique | Should -Be 'watch'
    }
    It 'writes only changes with -ChangesOnly and takes a quoted duration or a timespan as -Interval, never a bare number' {
        Watch-Fleet @common -HostName good-01 -Command 'echo same' -Interval '1s' -Count 2 -ChangesOnly -NoHistory | Should -BeNullOrEmpty
        { Watch-Fleet @common -HostName good-01 -Command 'true' -Interval ([timespan]::FromMilliseconds(100)) -Count 1 -NoHistory } | Should -Throw
        { Watch-Fleet @common -HostName good-01 -Command 'true' -Interval 2 -Count 1 -NoHistory -ErrorAction Stop } | Should -Throw -ExpectedMessage "*-IntervalSec*"
    }
    It 'stops when the pipeline stops reading' {
        $sw = [Diagnostics.Stopwatch]::StartNew()
        $first = Watch-Fleet @common -HostName good-01 -Command 'date +%s%N' -IntervalSec 1 -NoHistory | Where-Object Changed | Select-Object -First 1
        $first.Iteration | Should -Be 2
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 30
    }
}

Describe 'Watch-FleetLog' {
    It 'writes each line as a FleetLogLine as it arrives, and Select-Object -First ends the follower' {
        $log = Join-Path $TestDrive 'app.log'
        "one`ntwo`nthree`n" | Set-Content -NoNewline $log
        $lines = Watch-FleetLog @common -HostName good-01 -Path $log -Lines 2 | Select-Object -First 2
        $lines.Line | Should -Be @('two', 'three')
        $lines[0].PSObject.TypeNames[0] | Should -Be 'HerdPS.Tail.FleetLogLine'
        $lines.HostName | Select-Object -Unique | Should -Be 'good-01'
    }
    It 'refuses -TimeoutSec, since it runs until stopped' {
        { Watch-FleetLog @common -HostName good-01 -Path /var/log/x -TimeoutSec 5 -ErrorAction Stop } | Should -Throw -ExpectedMessage '*does not apply*'
    }
}

# The loopback fleet's hosts share one file system, so a file reads the same on every host; per-host content
# (real drift) is covered by the engine's integration tests, whose sshd hosts each have their own mount namespace.
Describe 'Compare-FleetFile' {
    BeforeAll {
        $script:same = Join-Path $TestDrive 'app.conf'
        "port=80`nworkers=4`n" | Set-Content -NoNewline $script:same
    }
    It 'writes one RemoteFileResult per host, all in the norm when the copies are identical' {
        $r = Compare-FleetFile @common -Group web -Path $script:same
        $r.Count | Should -Be 3
        $r | ForEach-Object { $_.PSObject.TypeNames[0] | Should -Be 'HerdPS.Files.RemoteFileResult' }
        ($r.Status | Select-Object -Unique) | Should -Be 'Ok'
        ($r.GroupId | Select-Object -Unique) | Should -Be 1
        $r.IsNorm | Should -Not -Contain $false
        ($r.Sha256 | Select-Object -Unique) | Should -Be (Get-FileHash $script:same -Algorithm SHA256).Hash.ToLowerInvariant()
        $r[0].Length | Should -Be ([System.IO.FileInfo]$script:same).Length
        $r[0].Length | Should -Be 18
    }
    It 'reports a missing file as a status and a FileMissing error per host, never as an empty file' {
        $r = Compare-FleetFile @common -Group web -Path (Join-Path $TestDrive 'nope.conf') -ErrorVariable errs -ErrorAction SilentlyContinue
        ($r.Status | Select-Object -Unique) | Should -Be 'Missing'
        # Each host's Length is null (not read), never 0: $r.Length would be the array's length, not theirs.
        $r | ForEach-Object { $_.Length | Should -BeNullOrEmpty }
        $errs.Count | Should -Be 3
        ($errs | ForEach-Object { ($_.FullyQualifiedErrorId -split ',')[0] } | Select-Object -Unique) | Should -Be 'FileMissing'
        ($errs.TargetObject | Sort-Object) | Should -Be @('good-01', 'good-02', 'good-03')
        $errs[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }
    It 'treats a hostile path as a file name, never as code' {
        # A file name can't hold '/', so the payload touches a file in the remote shell's current folder (the home).
        $marker = 'pwned-' + [guid]::NewGuid().ToString('N')
        $hostile = Join-Path $TestDrive ('$(touch ' + $marker + ')')
        'x' | Set-Content $hostile
        (Compare-FleetFile @common -HostName good-01 -Path $hostile).Status | Should -Be 'Ok'
        (Invoke-FleetCommand @common -HostName good-01 -Command "test -e $marker" -NoHistory).ExitCode | Should -Be 1
    }
    It 'keeps every host copy with -Destination and compares by hash over -MaxFileBytes' {
        $dest = Join-Path $TestDrive 'copies'
        $r = Compare-FleetFile @common -Group web -Path $script:same -Destination $dest -MaxFileBytes 4
        ($r.Status | Select-Object -Unique) | Should -Be 'TooLarge'
        $r | ForEach-Object { Get-Content -Raw $_.SavedPath | Should -Be (Get-Content -Raw $script:same) }
        Test-Path (Join-Path $dest 'good-02/app.conf') | Should -BeTrue
    }
    It 'reports unreachable hosts with the connection error ids' {
        $r = Compare-FleetFile @common -HostName refused-01 -Path $script:same -ErrorVariable errs -ErrorAction SilentlyContinue
        $r.Status | Should -Be 'Unreachable'
        ($errs[0].FullyQualifiedErrorId -split ',')[0] | Should -Be 'ConnectionRefused'
    }
}

Describe 'Send-FleetFile and Receive-FleetFile' {
    BeforeAll {
        $script:local = Join-Path $TestDrive 'motd'
        "welcome`n" | Set-Content -NoNewline $script:local
        $script:remoteDir = Join-Path $TestDrive 'remote'
        New-Item -ItemType Directory $script:remoteDir | Out-Null
    }
    It 'copies nothing with -WhatIf' {
        Send-FleetFile @common -HostName good-01 -Path $script:local -Destination (Join-Path $script:remoteDir 'whatif') -WhatIf | Should -BeNullOrEmpty
        Test-Path (Join-Path $script:remoteDir 'whatif') | Should -BeFalse
    }
    It 'sends a file, verified, and refuses to overwrite it without -Force' {
        $target = Join-Path $script:remoteDir 'motd'
        $r = Send-FleetFile @common -HostName good-01 -Path $script:local -Destination $target -Mode 0640
        $r.Status | Should -Be 'Transferred'
        $r.Verified | Should -BeTrue
        Get-Content -Raw $target | Should -Be "welcome`n"
        $again = Send-FleetFile @common -HostName good-01 -Path $script:local -Destination $target -ErrorVariable errs -ErrorAction SilentlyContinue
        $again.Status | Should -Be 'Exists'
        ($errs[0].FullyQualifiedErrorId -split ',')[0] | Should -Be 'DestinationExists'
        $errs[0].TargetObject | Should -Be 'good-01'
        (Send-FleetFile @common -HostName good-01 -Path $script:local -Destination $target -Force).Status | Should -Be 'Transferred'
    }
    It 'fails before anything runs when the local file does not exist' {
        { Send-FleetFile @common -HostName good-01 -Path (Join-Path $TestDrive 'absent') -Destination /tmp/x -ErrorAction Stop } |
            Should -Throw -ErrorId 'LocalFileNotFound,HerdPS.Commands.SendFleetFileCommand'
    }
    It 'pulls into one folder per host' {
        $into = Join-Path $TestDrive 'pulled'
        $r = Receive-FleetFile @common -Group web -Path $script:local -Destination $into
        $r.Count | Should -Be 3
        ($r.Status | Select-Object -Unique) | Should -Be 'Transferred'
        foreach ($h in 'good-01', 'good-02', 'good-03') { Get-Content -Raw (Join-Path $into "$h/motd") | Should -Be "welcome`n" }
        $skip = Receive-FleetFile @common -HostName good-01 -Path $script:local -Destination $into -ErrorVariable errs -ErrorAction SilentlyContinue
        $skip.Status | Should -Be 'Exists'
        ($errs[0].FullyQualifiedErrorId -split ',')[0] | Should -Be 'DestinationExists'
    }
    It 'reports a missing remote file as FileMissing' {
        $r = Receive-FleetFile @common -HostName good-01 -Path (Join-Path $TestDrive 'gone') -Destination (Join-Path $TestDrive 'p2') -ErrorVariable errs -ErrorAction SilentlyContinue
        $r.Status | Should -Be 'Missing'
        ($errs[0].FullyQualifiedErrorId -split ',')[0] | Should -Be 'FileMissing'
    }
}

Describe 'Get-FleetSnapshot and Compare-FleetSnapshot' {
    BeforeAll { $script:history = Join-Path $TestDrive 'history.db' }
    It 'captures every host, stores the snapshot and reads it back by id' {
        $s = Get-FleetSnapshot @common -Group web -HistoryPath $script:history
        $s.PSObject.TypeNames[0] | Should -Be 'HerdPS.Files.FleetSnapshot'
        $s.Id | Should -BeGreaterThan 0
        $s.Hosts.Count | Should -Be 3
        $s.CapturedCount | Should -Be 3
        $s.Hosts[0].Kernel | Should -Match '^Linux '
        $back = Get-FleetSnapshot -Id $s.Id -HistoryPath $script:history
        $back.Hosts.HostName | Should -Be $s.Hosts.HostName
        (Get-FleetSnapshot -Id $s.Id -HostName good-02 -InventoryPath $common.InventoryPath -HistoryPath $script:history).Hosts.HostName | Should -Be 'good-02'
    }
    It 'lists stored snapshots newest first and reports an unknown id without losing the others' {
        $second = Get-FleetSnapshot @common -Group web -HistoryPath $script:history
        $list = Get-FleetSnapshot -List -HistoryPath $script:history
        $list[0].Id | Should -Be $second.Id
        (Get-FleetSnapshot -List -Last 1 -HistoryPath $script:history).Count | Should -Be 1
        $found = Get-FleetSnapshot -Id @($second.Id, 999999) -HistoryPath $script:history -ErrorVariable errs -ErrorAction SilentlyContinue
        $found.Id | Should -Be $second.Id
        ($errs[0].FullyQualifiedErrorId -split ',')[0] | Should -Be 'SnapshotNotFound'
    }
    It 'refuses a host selection with -List' {
        { Get-FleetSnapshot -List -HostName good-01 -HistoryPath $script:history -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidParameter,HerdPS.Commands.GetFleetSnapshotCommand'
    }
    It 'captures without storing with -NoHistory' {
        $before = @(Get-FleetSnapshot -List -HistoryPath $script:history).Count
        (Get-FleetSnapshot @common -HostName good-01 -NoHistory -HistoryPath $script:history).Id | Should -BeNullOrEmpty
        @(Get-FleetSnapshot -List -HistoryPath $script:history).Count | Should -Be $before
    }
    It 'writes a non-terminating error for a host that could not be captured' {
        $s = Get-FleetSnapshot @common -HostName @('good-01', 'refused-01') -NoHistory -ErrorVariable errs -ErrorAction SilentlyContinue
        ($s.Hosts | Where-Object HostName -eq 'refused-01').Status | Should -Be 'Unreachable'
        ($errs[0].FullyQualifiedErrorId -split ',')[0] | Should -Be 'ConnectionRefused'
        $errs[0].TargetObject | Should -Be 'refused-01'
    }
    It 'compares two stored snapshots per host, by id and as objects' {
        $old, $new = Get-FleetSnapshot -List -Last 2 -HistoryPath $script:history | Sort-Object Id
        $byId = Compare-FleetSnapshot -ReferenceId $old.Id -DifferenceId $new.Id -HistoryPath $script:history
        $byId.Count | Should -Be 3
        $byId | ForEach-Object { $_.PSObject.TypeNames[0] | Should -Be 'HerdPS.Files.HostSnapshotDiff' }
        $byId.PackagesAdded | Should -BeNullOrEmpty
        $a = Get-FleetSnapshot -Id $old.Id -HistoryPath $script:history
        $b = Get-FleetSnapshot -Id $new.Id -HistoryPath $script:history
        (Compare-FleetSnapshot -ReferenceSnapshot $a -DifferenceSnapshot $b).HostName | Should -Be $byId.HostName
        { Compare-FleetSnapshot 999998 999999 -HistoryPath $script:history -ErrorAction Stop } | Should -Throw -ErrorId 'SnapshotNotFound,HerdPS.Commands.CompareFleetSnapshotCommand'
    }
}
