using System;
using System.IO;
using System.Text;
using System.Text.Json;

namespace HerdPS.Display
{
    /// <summary>
    /// JSON text written by hand with <see cref="Utf8JsonWriter"/> (one line, the default encoder): what herd prints and
    /// stores as JSON, never through the reflection-based serializer, whose first use costs a short process 20-30 ms and
    /// which the native herd doesn't have.
    /// </summary>
    public static class JsonText
    {
        /// <summary>What <paramref name="write"/> writes, as a string.</summary>
        public static string Write(Action<Utf8JsonWriter> write)
        {
            if (write == null) throw new ArgumentNullException(nameof(write));
            using var buffer = new MemoryStream();
            using (var writer = new Utf8JsonWriter(buffer)) write(writer);
            return Encoding.UTF8.GetString(buffer.ToArray());
        }

        /// <summary>One JSON object: its fields are what <paramref name="fields"/> writes.</summary>
        public static string Object(Action<Utf8JsonWriter> fields)
        {
            if (fields == null) throw new ArgumentNullException(nameof(fields));
            return Write(w =>
            {
                w.WriteStartObject();
                fields(w);
                w.WriteEndObject();
            });
        }
    }
}
