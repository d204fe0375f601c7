using System;
using System.Collections;
using System.Collections.Generic;

namespace HerdPS
{
    /// <summary>
    /// A host's groups or tags (and other lists of names): a read-only list that behaves as a string array for
    /// scripts (<c>-contains</c>, indexing, <c>.Count</c>, <c>ForEach-Object</c>, <c>ConvertTo-Json</c> gives an
    /// array) and prints as <c>web,db</c>. Export-Csv writes a property with ToString(), so a plain string[] became
    /// the cell "System.String[]"; this type makes that cell readable without giving up the list.
    /// </summary>
    public sealed class NameList : IList<string>, IReadOnlyList<string>, IList, IEquatable<NameList>
    {
        private readonly string[] _names;

        public static readonly NameList Empty = new NameList(Array.Empty<string>());

        public NameList(IEnumerable<string> names)
        {
            if (names == null) throw new ArgumentNullException(nameof(names));
            _names = new List<string>(names).ToArray();
            foreach (var name in _names)
                if (name == null) throw new ArgumentException("a name in the list is null", nameof(names));
        }

        /// <summary>So code that sets a list from an array (<c>Tags = host.Tags.ToArray()</c>) reads as before.</summary>
        public static implicit operator NameList(string[]? names) => names == null || names.Length == 0 ? Empty : new NameList(names);

        public int Count => _names.Length;
        /// <summary>As for the string[] this replaced.</summary>
        public int Length => _names.Length;
        public string this[int index] => _names[index];
        string IList<string>.this[int index] { get => _names[index]; set => throw ReadOnly(); }
        object? IList.this[int index] { get => _names[index]; set => throw ReadOnly(); }
        public bool IsReadOnly => true;
        bool IList.IsFixedSize => true;
        bool ICollection.IsSynchronized => false;
        object ICollection.SyncRoot => _names;

        /// <summary>Names compare exactly (ordinal), as the inventory matches them.</summary>
        public bool Contains(string item) => Array.IndexOf(_names, item) >= 0;
        public int IndexOf(string item) => Array.IndexOf(_names, item);
        public string[] ToArray() => (string[])_names.Clone();
        public void CopyTo(string[] array, int arrayIndex) => _names.CopyTo(array, arrayIndex);
        void ICollection.CopyTo(Array array, int index) => _names.CopyTo(array, index);
        public IEnumerator<string> GetEnumerator() => ((IEnumerable<string>)_names).GetEnumerator();
        IEnumerator IEnumerable.GetEnumerator() => _names.GetEnumerator();

        bool IList.Contains(object? value) => value is string s && Contains(s);
        int IList.IndexOf(object? value) => value is string s ? IndexOf(s) : -1;
        void ICollection<string>.Add(string item) => throw ReadOnly();
        void ICollection<string>.Clear() => throw ReadOnly();
        bool ICollection<string>.Remove(string item) => throw ReadOnly();
        void IList<string>.Insert(int index, string item) => throw ReadOnly();
        void IList<string>.RemoveAt(int index) => throw ReadOnly();
        int IList.Add(object? value) => throw ReadOnly();
        void IList.Clear() => throw ReadOnly();
        void IList.Insert(int index, object? value) => throw ReadOnly();
        void IList.Remove(object? value) => throw ReadOnly();
        void IList.RemoveAt(int index) => throw ReadOnly();

        /// <summary>"web,db": what a CSV cell and string interpolation show.</summary>
        public override string ToString() => string.Join(",", _names);

        public bool Equals(NameList? other)
        {
            if (other is null || other.Count != Count) return false;
            for (var i = 0; i < _names.Length; i++)
                if (!string.Equals(_names[i], other._names[i], StringComparison.Ordinal)) return false;
            return true;
        }

        public override bool Equals(object? obj) => obj is NameList other && Equals(other);

        public override int GetHashCode()
        {
            var hash = 17;
            foreach (var name in _names) hash = unchecked(hash * 31 + StringComparer.Ordinal.GetHashCode(name));
            return hash;
        }

        private static NotSupportedException ReadOnly() => new NotSupportedException("a NameList is read-only");
    }
}
