// Command mirror-check checks a copy of a Guzheng mirror (the objects of a bucket prefix, saved
// as files under DIR with their object names) with Go's golang.org/x/mod/sumdb/note and
// golang.org/x/mod/sumdb/tlog, unmodified.
//
// Usage:
//
//	mirror-check -key VKEY -dir DIR
//
// It opens DIR/checkpoint with note.Open (the pinned key only) and parses the C2SP checkpoint
// (origin, size, base64 root; extension lines ignored); reads every leaf hash through
// tlog.TileHashReader over the C2SP hash tiles DIR/tile/<L>/<N>[.p/<W>] (which checks them
// against the signed root); checks that each entry of the entry bundles DIR/tile/entries/<N>[.p/<W>]
// hashes (tlog.RecordHash) to its leaf hash; and rebuilds the tree from the leaves with
// tlog.StoredHashes, whose root (tlog.TreeHash) must be the signed one.
//
// It prints "ok: size N, T tiles, E entries" and exits 0, or prints what failed and exits 1.
package main

import (
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const tileHeight = 8

type tileReader struct {
	dir  string
	read map[string]bool
}

func (r *tileReader) Height() int { return tileHeight }

// c2spPath maps Go's tile path tile/H/L/N[.p/W] to C2SP's tile/L/N[.p/W].
func c2spPath(t tlog.Tile) (string, error) {
	prefix := fmt.Sprintf("tile/%d/", tileHeight)
	p := t.Path()
	if t.H != tileHeight || !strings.HasPrefix(p, prefix) {
		return "", fmt.Errorf("no C2SP path for tile %+v", t)
	}
	return "tile/" + strings.TrimPrefix(p, prefix), nil
}

func (r *tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		p, err := c2spPath(t)
		if err != nil {
			return nil, err
		}
		d, err := os.ReadFile(filepath.Join(r.dir, p))
		if err != nil {
			return nil, err
		}
		if len(d) != t.W*tlog.HashSize {
			return nil, fmt.Errorf("%s: %d bytes, want %d", p, len(d), t.W*tlog.HashSize)
		}
		r.read[p] = true
		out[i] = d
	}
	return out, nil
}

func (r *tileReader) SaveTiles([]tlog.Tile, [][]byte) {}

type hashes map[int64]tlog.Hash

func (h hashes) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		v, ok := h[x]
		if !ok {
			return nil, fmt.Errorf("no stored hash %d", x)
		}
		out[i] = v
	}
	return out, nil
}

func parseCheckpoint(text string) (string, tlog.Tree, error) {
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if !strings.HasSuffix(text, "\n") || len(lines) < 3 {
		return "", tlog.Tree{}, errors.New("not a C2SP checkpoint")
	}
	n, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || n < 0 || lines[1] != strconv.FormatInt(n, 10) {
		return "", tlog.Tree{}, fmt.Errorf("size %q is not a canonical decimal", lines[1])
	}
	root, err := base64.StdEncoding.Strict().DecodeString(lines[2])
	if err != nil || len(root) != tlog.HashSize {
		return "", tlog.Tree{}, fmt.Errorf("root %q is not base64 of %d bytes", lines[2], tlog.HashSize)
	}
	var h tlog.Hash
	copy(h[:], root)
	return lines[0], tlog.Tree{N: n, Hash: h}, nil
}

// bundlePath is the C2SP path of entry bundle k of a tree of n leaves.
func bundlePath(k, n int64) string {
	t := tlog.Tile{H: tileHeight, L: 0, N: k, W: 1 << tileHeight}
	if rest := n - k<<tileHeight; rest < 1<<tileHeight {
		t.W = int(rest)
	}
	p, _ := c2spPath(t)
	return strings.Replace(p, "tile/0/", "tile/entries/", 1)
}

func splitBundle(b []byte) ([][]byte, error) {
	var out [][]byte
	for len(b) > 0 {
		if len(b) < 2 {
			return nil, errors.New("truncated length")
		}
		l := int(b[0])<<8 | int(b[1])
		if len(b) < 2+l {
			return nil, errors.New("truncated entry")
		}
		out = append(out, b[2:2+l])
		b = b[2+l:]
	}
	return out, nil
}

func run(key, dir string) (string, error) {
	v, err := note.NewVerifier(key)
	if err != nil {
		return "", fmt.Errorf("key: %v", err)
	}
	msg, err := os.ReadFile(filepath.Join(dir, "checkpoint"))
	if err != nil {
		return "", err
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		return "", fmt.Errorf("note.Open: %v", err)
	}
	origin, tree, err := parseCheckpoint(n.Text)
	if err != nil {
		return "", err
	}
	if origin != v.Name() {
		return "", fmt.Errorf("origin %q, want %q", origin, v.Name())
	}
	tiles := &tileReader{dir: dir, read: map[string]bool{}}
	r := tlog.TileHashReader(tree, tiles)
	stored := hashes{}
	entries := int64(0)
	for k := int64(0); k<<tileHeight < tree.N; k++ {
		p := bundlePath(k, tree.N)
		b, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil {
			return "", err
		}
		list, err := splitBundle(b)
		if err != nil {
			return "", fmt.Errorf("%s: %v", p, err)
		}
		idx := make([]int64, len(list))
		for i := range list {
			idx[i] = tlog.StoredHashIndex(0, k<<tileHeight+int64(i))
		}
		leaves, err := r.ReadHashes(idx)
		if err != nil {
			return "", fmt.Errorf("TileHashReader: %v", err)
		}
		for i, e := range list {
			if tlog.RecordHash(e) != leaves[i] {
				return "", fmt.Errorf("%s: entry %d does not hash to its leaf", p, i)
			}
			hs, err := tlog.StoredHashes(k<<tileHeight+int64(i), e, stored)
			if err != nil {
				return "", err
			}
			base := tlog.StoredHashIndex(0, k<<tileHeight+int64(i))
			for j, h := range hs {
				stored[base+int64(j)] = h
			}
			entries++
		}
	}
	if entries != tree.N {
		return "", fmt.Errorf("%d entries in the bundles, want %d", entries, tree.N)
	}
	root, err := tlog.TreeHash(tree.N, stored)
	if err != nil {
		return "", err
	}
	if root != tree.Hash {
		return "", errors.New("the tree rebuilt from the entries has another root than the checkpoint")
	}
	return fmt.Sprintf("ok: size %d, %d tiles, %d entries", tree.N, len(tiles.read), entries), nil
}

func main() {
	key := flag.String("key", "", "the log's verifier key")
	dir := flag.String("dir", "", "a copy of the mirror prefix")
	flag.Parse()
	if *key == "" || *dir == "" {
		flag.Usage()
		os.Exit(2)
	}
	out, err := run(*key, *dir)
	if err != nil {
		fmt.Println("mirror-check:", err)
		os.Exit(1)
	}
	fmt.Println(out)
}
