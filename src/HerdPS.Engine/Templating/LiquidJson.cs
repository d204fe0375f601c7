using System;
using System.Text.Json;
using System.Threading.Tasks;
using Fluid;
using Fluid.Values;
using HerdPS.Display;

namespace HerdPS.Templating
{
    /// <summary>
    /// Liquid's <c>json</c> filter (<c>{{ params.packages | json }}</c>: one line of JSON), written here because
    /// Fluid's own goes through System.Text.Json's reflection-based serializer, which the native herd doesn't have (it
    /// threw there). Templates only ever see what <see cref="LiquidTemplate.ToFluid"/> makes (nil, booleans, numbers,
    /// strings, lists, dictionaries) and what Fluid's filters make of them, so this writes exactly those, the way
    /// Fluid 2.41 wrote them: the default encoder, numbers as decimals, blank and empty as "", always on one line (it
    /// takes no argument; <c>json: true</c> is not indented).
    /// </summary>
    internal static class LiquidJson
    {
        private const int MaxDepth = 64;

        public static ValueTask<FluidValue> Filter(FluidValue input, FilterArguments arguments, TemplateContext context)
        {
            return new ValueTask<FluidValue>(new StringValue(JsonText.Write(w => Write(w, input, context, 0))));
        }

        private static void Write(Utf8JsonWriter writer, FluidValue value, TemplateContext context, int depth)
        {
            if (depth > MaxDepth) throw new InvalidOperationException($"json: a value nested deeper than {MaxDepth} levels");
            switch (value.Type)
            {
                case FluidValues.Nil:
                    writer.WriteNullValue();
                    break;
                case FluidValues.Boolean:
                    writer.WriteBooleanValue(value.ToBooleanValue());
                    break;
                case FluidValues.Number:
                    writer.WriteNumberValue(value.ToNumberValue());
                    break;
                case FluidValues.String:
                    writer.WriteStringValue(value.ToStringValue());
                    break;
                case FluidValues.Blank:
                case FluidValues.Empty:
                    writer.WriteStringValue(string.Empty);
                    break;
                case FluidValues.Array:
                    writer.WriteStartArray();
                    foreach (var item in value.Enumerate(context)) Write(writer, item, context, depth + 1);
                    writer.WriteEndArray();
                    break;
                case FluidValues.Dictionary when value.ToObjectValue() is IFluidIndexable map:
                    writer.WriteStartObject();
                    foreach (var key in map.Keys)
                    {
                        writer.WritePropertyName(key);
                        Write(writer, map.TryGetValue(key, out var item) ? item : NilValue.Instance, context, depth + 1);
                    }
                    writer.WriteEndObject();
                    break;
                case FluidValues.DateTime:
                    switch (value.ToObjectValue())
                    {
                        case DateTimeOffset offset: writer.WriteStringValue(offset); break;
                        case DateTime time: writer.WriteStringValue(time); break;
                        default: writer.WriteStringValue(value.ToStringValue()); break;
                    }
                    break;
                default:
                    // Objects never reach a template (the model is dictionaries and lists); say so rather than guess.
                    throw new InvalidOperationException($"json: a {value.Type} value can't be written as JSON");
            }
        }
    }
}
