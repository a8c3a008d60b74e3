/**
 * The JSON problem finder behind config-file messages: positions and reasons for common
 * mistakes, and agreement with JSON.parse on what is JSON at all.
 */
import t from 'tap'
import fc from 'fast-check'
import { findJsonProblem, lineAndColumn } from '../../src/base/json-syntax.js'

function where (text: string): string {
  const problem = findJsonProblem(text)
  if (problem === undefined) return 'clean'
  const { line, column } = lineAndColumn(text, problem.offset)
  return `${line}:${column} ${problem.reason}`
}

t.test('common mistakes are named at the right line and column', async (t) => {
  t.equal(where('{"a": 1}'), 'clean')
  t.equal(where(' [1, -2.5e3, "x\\n\\u00e9", true, false, null, {}] \n'), 'clean')
  t.equal(where('{\n  "a": 1,\n  "b": }\n'), '3:8 unexpected character "}", expected a value')
  t.equal(where('{\n  "a": 1,\n}'), '3:1 trailing comma before "}"')
  t.equal(where('[1,]'), '1:4 trailing comma before "]"')
  t.equal(where('{\n  // note\n  "a": 1}'), '2:3 comments are not allowed in JSON')
  t.equal(where("{'a': 1}"), '1:2 strings must use double quotes')
  t.equal(where('{"a": 1 "b": 2}'), '1:9 unexpected character "\\"", expected "," or "}"')
  t.equal(where('[1 2]'), '1:4 unexpected character "2", expected "," or "]"')
  t.equal(where('{"a" 1}'), '1:6 unexpected character "1", expected ":"')
  t.equal(where('{"a": 1'), '1:8 unexpected end of file, expected "," or "}"')
  t.equal(where(''), '1:1 unexpected end of file, expected a value')
  t.equal(where('{"a": "abc'), '1:7 unterminated string')
  t.equal(where('"a\tb"'), '1:3 control character in string (write it as an escape such as \\n)')
  t.equal(where('"a\\qb"'), '1:3 invalid escape sequence in string')
  t.equal(where('[01]'), '1:2 invalid number')
  t.equal(where('[1.]'), '1:2 invalid number')
  t.equal(where('[-]'), '1:2 invalid number')
  t.equal(where('{} {}'), '1:4 unexpected text after the end of the JSON value')
  t.equal(where('{"é": \u00a0}'), '1:7 unexpected character U+00A0, expected a value', 'columns count characters')
  t.equal(where('{"a": 1, "b": 2, "a": 3}'), '1:18 duplicate key "a"')
  t.equal(where('[{"a": 1}, {"a": 2}]'), 'clean', 'the same key in two objects is fine')
  t.equal(where('['.repeat(100) + ']'.repeat(100)), '1:66 nested more than 64 levels deep')
})

t.test('property: JSON.stringify output is clean', async (t) => {
  fc.assert(fc.property(fc.jsonValue(), (v) => findJsonProblem(JSON.stringify(v, null, 2)) === undefined), { numRuns: 500 })
  t.pass()
})

t.test('property: whatever the finder accepts, JSON.parse accepts', async (t) => {
  const alphabet = fc.constantFrom(...'{}[]:,"\\ \n01-.eEtrufalsn'.split(''))
  const mutated = fc.oneof(fc.string({ unit: alphabet, maxLength: 30 }), fc.json().map((s) => s.slice(0, -1)), fc.json().map((s) => s + ','))
  fc.assert(fc.property(mutated, (s) => {
    const problem = findJsonProblem(s)
    let parses = true
    try { JSON.parse(s) } catch { parses = false }
    if (problem === undefined) return parses
    // The finder is stricter than JSON.parse only about duplicate keys.
    return !parses || problem.reason.startsWith('duplicate key')
  }), { numRuns: 3000 })
  t.pass()
})
