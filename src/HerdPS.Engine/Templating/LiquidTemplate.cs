using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.RegularExpressions;
using Fluid;
using Fluid.Values;
using HerdPS.Display;
using HerdPS.Transport;

namespace HerdPS.Templating
{
    /// <summary>What a rendered value must be safe for.</summary>
    public enum TemplateQuoting
    {
        /// <summary>Values are written as they are (messages, paths, conditions, notification bodies).</summary>
        None,
        /// <summary>
        /// Every <c>{{ value }}</c> is written as one POSIX shell word (single-quoted), so a value can never become
        /// shell syntax; <c>{{ value | raw }}</c> opts out, deliberately, in the template's own text.
        /// </summary>
        Shell,
        /// <summary>Every <c>{{ value }}</c> is written as a JSON string's contents (webhook bodies).</summary>
        Json,
    }

    /// <summary>A template that can't be parsed or rendered; <see cref="Line"/> and <see cref="Column"/> are within the template text (1-based; 0 when unknown).</summary>
    public sealed class TemplateException : Exception
    {
        public TemplateException(string message, int line = 0, int column = 0, Exception? inner = null) : base(message, inner)
        {
            Line = line;
            Column = column;
        }

        public int Line { get; }
        public int Column { get; }
    }

    /// <summary>
    /// A Liquid template (Fluid), sandboxed: the model is plain dictionaries, lists, strings, numbers and booleans
    /// (never our objects, so nothing is reached by reflection), there is no file system (include and render find
    /// nothing), a step budget stops runaway loops, and an undefined variable is an error rather than an empty
    /// string that would quietly change a command. Fleet scripts render commands with it; notifications (issue 14)
    /// render messages and webhook bodies with it. Instances are immutable and safe to render from many threads.
    /// <para>
    /// Quoting: with <see cref="TemplateQuoting.Shell"/> every output tag ends in an implicit <c>shell</c> filter
    /// unless it already ends in <c>raw</c>. This is done on the template's text before parsing (each
    /// <c>{{ ... }}</c> gets <c>| shell</c> appended), so it holds however the value was computed, and an empty value
    /// still becomes <c>''</c>, one empty word. The <c>echo</c> and <c>liquid</c> tags would write without that
    /// filter, so a shell-quoted template refuses them.
    /// </para>
    /// </summary>
    public sealed class LiquidTemplate
    {
        /// <summary>Render steps allowed per render: enough for any real command, not for a loop that never ends.</summary>
        public const int MaxSteps = 100_000;
        /// <summary>Characters a render may produce.</summary>
        public const int MaxOutputLength = 1024 * 1024;

        private static readonly FluidParser Parser = new FluidParser();
        private static readonly Regex UnquotedTags = new Regex(@"\{%-?\s*(echo|liquid)\b", RegexOptions.CultureInvariant);
        private static readonly Regex VariablePaths = new Regex(@"(?<![\w.])([A-Za-z_][\w]*)(?:\.([A-Za-z_][\w-]*))?", RegexOptions.CultureInvariant);

        private readonly IFluidTemplate _template;

        private LiquidTemplate(string source, IFluidTemplate template, TemplateQuoting quoting)
        {
            Source = source;
            _template = template;
            Quoting = quoting;
        }

        public string Source { get; }
        public TemplateQuoting Quoting { get; }

        /// <summary>True when the text has no tags at all (a plain command): rendering gives it back unchanged.</summary>
        public bool IsPlainText => Source.IndexOf("{{", StringComparison.Ordinal) < 0 && Source.IndexOf("{%", StringComparison.Ordinal) < 0;

        /// <summary>Parses <paramref name="source"/>; a syntax error throws <see cref="TemplateException"/> with its line and column.</summary>
        public static LiquidTemplate Parse(string source, TemplateQuoting quoting)
        {
            if (source == null) throw new ArgumentNullException(nameof(source));
            string text = source;
            if (quoting != TemplateQuoting.None)
            {
                var unquoted = UnquotedTags.Match(source);
                if (unquoted.Success)
                {
                    var (line, column) = Position(source, unquoted.Index);
                    throw new TemplateException($"the '{unquoted.Groups[1].Value}' tag writes values without quoting; use {{{{ value }}}} (or {{{{ value | raw }}}} to write it unquoted on purpose)", line, column);
                }
                text = AddQuotingFilter(source, quoting == TemplateQuoting.Shell ? "shell" : "json_string");
            }
            if (!Parser.TryParse(text, out var template, out var error))
            {
                var (line, column) = ErrorPosition(error);
                throw new TemplateException("template syntax: " + WithoutPosition(error), line, column);
            }
            return new LiquidTemplate(source, template, quoting);
        }

        /// <summary>
        /// The root variables and first members the template names (<c>params.x</c> gives ("params", "x")), found in
        /// its tags, for checks before anything runs (an undeclared parameter, a step that doesn't exist). Names
        /// inside quoted strings are not variables and are left out; a name bound by a for loop or assign is not
        /// told apart, so callers check only roots they own (params, steps).
        /// </summary>
        public IReadOnlyList<(string Root, string? Member, int Line, int Column)> ReferencedVariables()
        {
            var found = new List<(string, string?, int, int)>();
            foreach (Match tag in Regex.Matches(Source, @"\{\{(.*?)\}\}|\{%(.*?)%\}", RegexOptions.Singleline | RegexOptions.CultureInvariant))
            {
                var inner = tag.Groups[1].Success ? tag.Groups[1] : tag.Groups[2];
                var body = BlankStrings(inner.Value);
                foreach (Match m in VariablePaths.Matches(body))
                {
                    var (line, column) = Position(Source, inner.Index + m.Index);
                    found.Add((m.Groups[1].Value, m.Groups[2].Success ? m.Groups[2].Value : null, line, column));
                }
            }
            return found;
        }

        /// <summary>
        /// Renders with <paramref name="model"/> (string keys; values are strings, numbers, booleans, lists and
        /// dictionaries of the same). An undefined variable, the step budget or the output cap throws
        /// <see cref="TemplateException"/>.
        /// </summary>
        public string Render(IReadOnlyDictionary<string, object?> model)
        {
            if (IsPlainText) return Source;
            var options = CreateOptions();
            var context = new TemplateContext(options);
            foreach (var pair in model) context.SetValue(pair.Key, ToFluid(pair.Value, options));
            var output = new CappedWriter(MaxOutputLength);
            try
            {
                // Fluid's NullEncoder writes text as it is: quoting is done by our filters, never by an HTML encoder.
                _template.RenderAsync(output, NullEncoder.Default, context).AsTask().GetAwaiter().GetResult();
            }
            catch (TemplateException) { throw; }
            catch (CappedWriter.FullException)
            {
                throw new TemplateException($"the template rendered more than {MaxOutputLength:N0} characters");
            }
            catch (Exception e) when (!(e is OutOfMemoryException) && !(e is OperationCanceledException))
            {
                throw new TemplateException(e.Message, 0, 0, e);
            }
            return output.ToString();
        }

        /// <summary>Renders a condition (<c>params.mode == "full"</c>, <c>host.tags contains "db"</c>) to true or false.</summary>
        public static LiquidTemplate ParseCondition(string condition)
        {
            if (condition == null) throw new ArgumentNullException(nameof(condition));
            if (condition.IndexOf("%}", StringComparison.Ordinal) >= 0 || condition.IndexOf("{%", StringComparison.Ordinal) >= 0 || condition.IndexOf("{{", StringComparison.Ordinal) >= 0)
                throw new TemplateException("a condition is a Liquid expression such as 'params.mode == \"full\"', without {{ }} or {% %}", 1, 1);
            return Parse("{% if " + condition + " %}true{% else %}false{% endif %}", TemplateQuoting.None);
        }

        public bool RenderCondition(IReadOnlyDictionary<string, object?> model) => Render(model) == "true";

        private static TemplateOptions CreateOptions()
        {
            var options = new TemplateOptions
            {
                MaxSteps = MaxSteps,
                MaxRecursion = 20,
                CultureInfo = CultureInfo.InvariantCulture,
                TimeZone = TimeZoneInfo.Utc,
                StrictVariables = true,
                StrictFilters = true,
            };
            options.Filters.AddFilter("shell", (input, arguments, context) => new StringValue(ShellWords(input, context), false));
            options.Filters.AddFilter("json_string", (input, arguments, context) => new StringValue(JsonContents(input.ToStringValue()), false));
            options.Filters.AddFilter("shell_quote", (input, arguments, context) => new StringValue(ShellWords(input, context), false));
            // Liquid's json filter, ours: Fluid's serializes by reflection, which the native herd doesn't have.
            options.Filters.AddFilter("json", LiquidJson.Filter);
            return options;
        }

        /// <summary>A list becomes one quoted word per item; anything else one quoted word (empty: '').</summary>
        private static string ShellWords(FluidValue input, TemplateContext context)
        {
            if (input is ArrayValue array)
            {
                var words = new List<string>();
                foreach (var item in array.Values) words.Add(ShellQuote.Single(item.ToStringValue()));
                return words.Count == 0 ? "''" : string.Join(" ", words);
            }
            if (input.IsNil()) return "''";
            return ShellQuote.Single(input.ToStringValue());
        }

        /// <summary>
        /// A JSON string's contents, written by the plain writer with its default encoder as JsonSerializer wrote them (the
        /// native herd has no reflection-based JsonSerializer). Not JsonEncodedText: it refuses a lone surrogate the writer escapes.
        /// </summary>
        private static string JsonContents(string value)
        {
            var quoted = JsonText.Write(w => w.WriteStringValue(value));
            return quoted.Substring(1, quoted.Length - 2);
        }

        /// <summary>Converts the model into Fluid values ourselves: dictionaries and lists only, never reflection over objects.</summary>
        internal static FluidValue ToFluid(object? value, TemplateOptions options)
        {
            switch (value)
            {
                case null: return NilValue.Instance;
                case FluidValue fluid: return fluid;
                case string s: return new StringValue(s);
                case bool b: return BooleanValue.Create(b);
                case int i: return NumberValue.Create(i);
                case long l: return NumberValue.Create(l);
                case double d: return NumberValue.Create((decimal)d);
                case decimal m: return NumberValue.Create(m);
                case IReadOnlyDictionary<string, object?> map:
                    {
                        var converted = new Dictionary<string, FluidValue>(StringComparer.Ordinal);
                        foreach (var pair in map) converted[pair.Key] = ToFluid(pair.Value, options);
                        return new DictionaryValue(new FluidValueDictionaryFluidIndexable(converted));
                    }
                case IEnumerable sequence:
                    {
                        var items = new List<FluidValue>();
                        foreach (var item in sequence) items.Add(ToFluid(item, options));
                        return new ArrayValue(items);
                    }
                default: return new StringValue(Convert.ToString(value, CultureInfo.InvariantCulture) ?? "");
            }
        }

        /// <summary>Appends the quoting filter to every output tag that does not end in <c>raw</c>.</summary>
        private static string AddQuotingFilter(string source, string filter)
        {
            var result = new StringBuilder(source.Length + 32);
            int i = 0;
            while (i < source.Length)
            {
                int open = source.IndexOf("{{", i, StringComparison.Ordinal);
                if (open < 0) { result.Append(source, i, source.Length - i); break; }
                int close = FindOutputEnd(source, open + 2);
                if (close < 0) { result.Append(source, i, source.Length - i); break; } // the parser reports the missing }}
                int bodyEnd = close;
                bool trimRight = close > open + 2 && source[close - 1] == '-';
                if (trimRight) bodyEnd--;
                result.Append(source, i, bodyEnd - i);
                var body = source.Substring(open + 2, bodyEnd - open - 2);
                if (!Regex.IsMatch(BlankStrings(body), @"\|\s*raw\s*$", RegexOptions.CultureInvariant)) result.Append(" | ").Append(filter).Append(' ');
                result.Append(source, bodyEnd, close + 2 - bodyEnd);
                i = close + 2;
            }
            return result.ToString();
        }

        /// <summary>The index of the <c>}}</c> that closes an output tag, skipping quoted strings.</summary>
        private static int FindOutputEnd(string source, int from)
        {
            char quote = '\0';
            for (int i = from; i < source.Length - 1; i++)
            {
                char c = source[i];
                if (quote != '\0') { if (c == quote) quote = '\0'; continue; }
                if (c == '"' || c == '\'') quote = c;
                else if (c == '}' && source[i + 1] == '}') return i;
            }
            return -1;
        }

        /// <summary>The text with the contents of quoted strings blanked, so names inside them are not taken for variables.</summary>
        private static string BlankStrings(string text)
        {
            var chars = text.ToCharArray();
            char quote = '\0';
            for (int i = 0; i < chars.Length; i++)
            {
                char c = chars[i];
                if (quote != '\0')
                {
                    if (c == quote) quote = '\0';
                    else chars[i] = ' ';
                }
                else if (c == '"' || c == '\'') quote = c;
            }
            return new string(chars);
        }

        private static (int Line, int Column) Position(string text, int index)
        {
            int line = 1, lineStart = 0;
            for (int i = 0; i < index && i < text.Length; i++)
                if (text[i] == '\n') { line++; lineStart = i + 1; }
            return (line, index - lineStart + 1);
        }

        private static readonly Regex FluidPosition = new Regex(@"\(\s*(\d+)\s*:\s*(\d+)\s*\)", RegexOptions.CultureInvariant);

        private static (int, int) ErrorPosition(string error)
        {
            var m = FluidPosition.Match(error ?? "");
            if (!m.Success) return (0, 0);
            return (int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
        }

        private static string WithoutPosition(string error) => FluidPosition.Replace(error ?? "", "").Replace(" at ", " ").Trim();

        /// <summary>Writes nothing past a cap: a template can't grow a command (or a message) without bound.</summary>
        private sealed class CappedWriter : StringWriter
        {
            private readonly int _cap;
            public CappedWriter(int cap) : base(CultureInfo.InvariantCulture) { _cap = cap; }
            public sealed class FullException : Exception { }
            private void Check(int adding) { if (GetStringBuilder().Length + adding > _cap) throw new FullException(); }
            public override void Write(char value) { Check(1); base.Write(value); }
            public override void Write(string? value) { Check(value?.Length ?? 0); base.Write(value); }
            public override void Write(char[] buffer, int index, int count) { Check(count); base.Write(buffer, index, count); }
        }

    }
}
