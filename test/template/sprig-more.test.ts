// Sprig semver, URL and date functions, checked against the Go oracle (TZ=UTC on both sides).
import { describe } from 'vitest';
import { OracleCase, oracleTable } from './oracle.js';

const semver: OracleCase[] = [
  { name: 'semver fields', template: '{{ $v := semver "v1.2.3-beta.1+build.5" }}{{ $v.Major }} {{ $v.Minor }} {{ $v.Patch }} {{ $v.Prerelease }} {{ $v.Metadata }} {{ $v.Original }} {{ $v }}' },
  { name: 'semver partial', template: '{{ semver "1" }} {{ semver "1.2" }} {{ semver "v2.0" }}' },
  { name: 'semver invalid', template: '{{ semver "x.y" }}' },
  { name: 'semver leading zero prerelease', template: '{{ semver "1.2.3-01" }}' },
  { name: 'semver bad metadata', template: '{{ semver "1.2.3+a_b" }}' },
  { name: 'semver compare methods', template: '{{ (semver "1.2.3").LessThan (semver "1.10.0") }} {{ (semver "2.0.0").GreaterThan (semver "2.0.0-rc1") }} {{ (semver "1.0").Equal (semver "1.0.0") }} {{ (semver "1.0.0-alpha").Compare (semver "1.0.0-alpha.1") }}' },
  { name: 'semver inc', template: '{{ (semver "v1.2.3").IncPatch }} {{ (semver "1.2.3-rc1").IncPatch }} {{ (semver "1.2.3").IncMinor }} {{ (semver "1.2.3").IncMajor }} {{ ((semver "v1.2.3").IncMajor).Original }}' },
  { name: 'semver types', template: '{{ typeOf (semver "1.0.0") }} {{ kindOf (semver "1.0.0") }} {{ typeOf (semver "1.0.0").Major }} {{ eq (semver "1.2.3").Major 1 }}' },
  { name: 'semver toJson', template: '{{ semver "1.2.3" | toJson }}' },
  { name: 'semverCompare basic', template: '{{ semverCompare ">=1.2.3" "1.2.4" }} {{ semverCompare ">=1.2.3" "1.2.2" }} {{ semverCompare "=1.2.3" "v1.2.3" }} {{ semverCompare "!=1.2.3" "1.2.3" }}' },
  { name: 'semverCompare ranges', template: '{{ semverCompare ">= 1.2, < 3.0.0" "2.5.0" }} {{ semverCompare "1.2 - 1.4.5" "1.4.5" }} {{ semverCompare "1.2 - 1.4.5" "1.4.6" }} {{ semverCompare ">1.0 <2.0 || >=3" "3.1" }}' },
  { name: 'semverCompare tilde caret', template: '{{ semverCompare "~1.2.3" "1.2.9" }} {{ semverCompare "~1.2.3" "1.3.0" }} {{ semverCompare "^1.2.3" "1.9.0" }} {{ semverCompare "^1.2.3" "2.0.0" }} {{ semverCompare "^0.2.3" "0.2.9" }} {{ semverCompare "^0.2.3" "0.3.0" }} {{ semverCompare "^0.0.3" "0.0.4" }}' },
  { name: 'semverCompare wildcards', template: '{{ semverCompare "1.2.x" "1.2.9" }} {{ semverCompare "1.2.*" "1.3.0" }} {{ semverCompare "*" "4.5.6" }} {{ semverCompare "1.x" "1.9.9" }} {{ semverCompare ">1.x" "2.0.0" }} {{ semverCompare "<=1.2.x" "1.2.9" }} {{ semverCompare "!=1.2.x" "1.3.0" }}' },
  { name: 'semverCompare prerelease', template: '{{ semverCompare ">=1.2.3" "1.2.4-rc1" }} {{ semverCompare ">=1.2.3-0" "1.2.4-rc1" }} {{ semverCompare "<1.0.0-beta" "1.0.0-alpha" }} {{ semverCompare ">1.0.0-alpha.2" "1.0.0-alpha.10" }}' },
  { name: 'semverCompare kubernetes versions', template: '{{ semverCompare ">=1.28.0" "v1.29.3+k3s1" }} {{ semverCompare "<1.25" "v1.24.17-eks-5e0fdde" }} {{ semverCompare ">=1.25" "v1.30.0" }}' },
  { name: 'semverCompare bad constraint', template: '{{ semverCompare "$1.0" "1.0.0" }}' },
  { name: 'semverCompare bad version', template: '{{ semverCompare ">1.0" "abc" }}' },
];

const urls: OracleCase[] = [
  { name: 'urlParse full', template: '{{ urlParse "https://user:p%40ss@example.com:8443/a/b%20c?x=1&y=2#frag" | toJson }}' },
  { name: 'urlParse relative', template: '{{ urlParse "/path/only?q" | toJson }}' },
  { name: 'urlParse opaque', template: '{{ urlParse "mailto:joe@example.com" | toJson }}' },
  { name: 'urlParse ipv6', template: '{{ (urlParse "http://[::1]:80/x").hostname }} {{ (urlParse "http://[::1]:80/x").host }}' },
  { name: 'urlParse force query', template: '{{ urlParse "http://h/p?" | toJson }}' },
  { name: 'urlParse bad escape', template: '{{ urlParse "http://h/%zz" }}' },
  { name: 'urlParse bad port', template: '{{ urlParse "http://h:x/" }}' },
  { name: 'urlParse missing scheme', template: '{{ urlParse ":foo" }}' },
  { name: 'urlParse colon segment', template: '{{ urlParse "a:b/c" | toJson }} ' },
  { name: 'urlJoin', template: '{{ urlJoin (dict "scheme" "https" "host" "example.com:8443" "path" "/a b/c" "query" "x=1" "fragment" "f g" "userinfo" "u:p") }}' },
  { name: 'urlJoin minimal', template: '{{ urlJoin (dict "host" "h" "path" "p") }} {{ urlJoin (dict "path" "a:b") }} {{ urlJoin (dict "scheme" "mailto" "opaque" "x@y") }}' },
  { name: 'urlJoin non-string value', template: '{{ urlJoin (dict "host" 1) }}' },
  { name: 'urlJoin round trip', template: '{{ urlParse "http://u@h/p?q=1#f" | urlJoin }}' },
];

const dates: OracleCase[] = [
  { name: 'date from unix int64', template: '{{ date "2006-01-02 15:04:05 MST" .ts }}', data: { ts: 1700000000 } },
  { name: 'date layouts', template: '{{ date "Mon Jan _2 3:4:5 PM 06 -0700 Z07:00 .000 ,999" .ts }}', data: { ts: 1700000000 } },
  { name: 'date long names and yearday', template: '{{ date "Monday January 2 2006 002 __2 pm" .ts }}', data: { ts: 1709251199 } },
  { name: 'dateInZone', template: '{{ dateInZone "2006-01-02 15:04 MST -07:00" .ts "America/New_York" }} {{ dateInZone "15:04 -0700" .ts "Asia/Kolkata" }} {{ dateInZone "15:04 MST" .ts "Bogus/Zone" }}', data: { ts: 1700000000 } },
  { name: 'htmlDate', template: '{{ htmlDate .ts }} {{ htmlDateInZone .ts "Asia/Tokyo" }}', data: { ts: 1700000000 } },
  { name: 'toDate and format', template: '{{ toDate "2006-01-02" "2024-02-29" | date "Jan 2, 2006" }} {{ toDate "2006-01-02T15:04:05Z07:00" "2024-03-10T12:30:00+02:00" | date "2006-01-02 15:04 -0700" }}' },
  { name: 'toDate prints', template: '{{ toDate "2006-01-02 15:04:05.000" "2024-05-06 07:08:09.123" }}' },
  { name: 'toDate invalid', template: '{{ toDate "2006-01-02" "not a date" }}' },
  { name: 'mustToDate invalid', template: '{{ mustToDate "2006-01-02" "2024-13-01" }}' },
  { name: 'mustToDate day out of range', template: '{{ mustToDate "2006-01-02" "2023-02-29" }}' },
  { name: 'mustToDate extra text', template: '{{ mustToDate "2006" "2024x" }}' },
  { name: 'mustToDate bad element', template: '{{ mustToDate "Jan 2" "Foo 2" }}' },
  { name: 'unixEpoch', template: '{{ toDate "2006-01-02" "2024-01-01" | unixEpoch }}' },
  { name: 'dateModify', template: '{{ toDate "2006-01-02" "2024-01-01" | dateModify "1h30m" | date "2006-01-02 15:04" }} {{ toDate "2006-01-02" "2024-01-01" | dateModify "-24h" | date "2006-01-02" }} {{ toDate "2006-01-02" "2024-01-01" | dateModify "bad" | date "2006-01-02" }}' },
  { name: 'mustDateModify bad', template: '{{ toDate "2006-01-02" "2024-01-01" | mustDateModify "5 days" }}' },
  { name: 'duration', template: '{{ duration "95" }} {{ duration .n }} {{ duration 60 }} {{ duration "x" }} {{ duration "3600" }} {{ duration "90061" }}', data: { n: 3661 } },
  { name: 'durationRound', template: '{{ durationRound "2h10m" }} {{ durationRound "-3h" }} {{ durationRound "45s" }} {{ durationRound .n }} {{ durationRound "800h" }} {{ durationRound "9000h" }} {{ durationRound "1s" }}', data: { n: 5000000000 } },
  { name: 'now shape', template: '{{ now | date "2006" }}', shape: /^20\d\d$/ },
  { name: 'now type', template: '{{ typeOf now }} {{ kindOf now }}', shape: /^time\.Time struct$/ },
  { name: 'ago shape', template: '{{ ago .ts }}', data: { ts: 1700000000 }, shape: /^\d+h\d+m\d+s$/ },
  { name: 'date with now fallback shape', template: '{{ date "2006" "not a time" }}', shape: /^20\d\d$/ },
  { name: 'time methods', template: '{{ $t := toDate "2006-01-02 15:04" "2024-07-04 09:05" }}{{ $t.Year }} {{ $t.YearDay }} {{ $t.Hour }} {{ $t.Unix }} {{ $t.Format "Jan 2" }} {{ $t.UTC.Day }}' },
  { name: 'time to json', template: '{{ toDate "2006-01-02 15:04:05.000" "2024-05-06 07:08:09.120" | toJson }}' },
];

describe('sprig semver, url and date functions', () => {
  oracleTable([...semver, ...urls, ...dates]);
});
