// Option value parsing: sizes with binary and decimal units, and the split-size presets.
import { describe, expect, it } from 'vitest';
import { FAT32_MAX_FILE, parseLimits, parseSize, parseSplitSize } from './options.js';

describe('parseSize', () => {
  it.each([
    ['4G', 4 * 1024 ** 3],
    ['4GiB', 4 * 1024 ** 3],
    ['512M', 512 * 1024 ** 2],
    ['64k', 64 * 1024],
    ['4.7GB', 4_700_000_000],
    ['25GB', 25_000_000_000],
    ['650MB', 650_000_000],
    ['1.5kB', 1500],
    ['1000', 1000],
    ['7b', 7],
    [' 2 TiB ', 2 * 1024 ** 4],
  ])('%s is %d bytes', (text, bytes) => {
    expect(parseSize(text, '--split-size')).toBe(bytes);
  });

  it.each(['', '0', '-1G', '4X', 'G', '4.7.1GB', '1e3', '99999999999999T'])('refuses %j, naming the flag and the units', (text) => {
    expect(() => parseSize(text, '--split-size')).toThrow(/--split-size: expected a size like 4G \(binary, 1024³\), 4\.7GB \(decimal, 1000³\) or a byte count/);
  });
});

describe('parseSplitSize', () => {
  it('knows fat32: 4 GiB - 1, the largest FAT32 file', () => {
    expect(parseSplitSize('fat32')).toBe(FAT32_MAX_FILE);
    expect(parseSplitSize('FAT32')).toBe(4294967295);
    expect(parseSplitSize('4.7GB')).toBe(4_700_000_000);
  });
});

describe('parseLimits', () => {
  it('parses each limit flag and leaves unset ones to the defaults', () => {
    expect(parseLimits({ maxJsonBytes: '8MiB', maxBlobs: '5', maxTotalSize: '1TB', maxEntries: '10', maxObjectsBytes: '1M' })).toEqual({
      maxMetadataBytes: 8 * 1024 ** 2,
      maxBlobs: 5,
      maxTotalBytes: 1e12,
      maxEntries: 10,
      maxObjectsBytes: 1024 ** 2,
    });
    expect(parseLimits({})).toEqual({});
    expect(() => parseLimits({ maxBlobs: 'many' })).toThrow(/--max-blobs: expected a positive integer/);
  });
});
