using System;
using System.Management.Automation;
using HerdPS.History;
using HerdPS.Watch;

namespace HerdPS.Commands
{
    /// <summary>
    /// Conversions PowerShell can't do by itself, each one call into the engine (where they are tested): the
    /// attribute only unwraps the PSObject and turns the engine's ArgumentException into a binding error.
    /// </summary>
    public abstract class EngineArgumentTransformation : ArgumentTransformationAttribute
    {
        public sealed override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
        {
            var value = inputData is PSObject pso ? pso.BaseObject : inputData;
            try
            {
                return Convert(value);
            }
            catch (ArgumentException e)
            {
                throw new ArgumentTransformationMetadataException(e.Message, e);
            }
        }

        protected abstract object Convert(object? value);
    }

    /// <summary>-Interval: a TimeSpan or a quoted duration ('30s'); numbers are refused (PowerShell reads 30s as 30).</summary>
    [AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
    public sealed class IntervalTransformationAttribute : EngineArgumentTransformation
    {
        protected override object Convert(object? value) => WatchArguments.Interval(value);
    }

    /// <summary>-Since: a date, a TimeSpan or duration back from now (7d), or a number of days.</summary>
    [AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
    public sealed class SinceTransformationAttribute : EngineArgumentTransformation
    {
        protected override object Convert(object? value) => HistoryArguments.Since(value, DateTime.UtcNow);
    }

    /// <summary>Watch-FleetLog -Since: a quoted duration back from now on each host's clock, a TimeSpan, or a date; a bare number is refused.</summary>
    [AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
    public sealed class TailSinceTransformationAttribute : EngineArgumentTransformation
    {
        protected override object Convert(object? value) => Tail.TailSince.FromParameter(value);
    }

    /// <summary>-ReferenceRun/-DifferenceRun: a run id, or a run from Get-FleetHistory.</summary>
    [AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
    public sealed class RunIdTransformationAttribute : EngineArgumentTransformation
    {
        protected override object Convert(object? value) => HistoryArguments.RunId(value, "Run");
    }
}
