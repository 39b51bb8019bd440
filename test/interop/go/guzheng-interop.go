// Command guzheng-interop checks a Guzheng log with Go's golang.org/x/mod/sumdb/note and
// golang.org/x/mod/sumdb/tlog, unmodified: an independent implementation of C2SP signed notes,
// RFC 6962/9162 Merkle proofs and tiled hash storage.
//
// Usage:
//
//	guzheng-interop -key VKEY -url URL [-checkpoint FILE]... [-receipt FILE]... [-api-key K]
//	guzheng-interop -key VKEY [-checkpoint FILE]... [-receipt FILE]...
//
// With -url it fetches /checkpoint and opens it with note.Open; reads every leaf hash through
// tlog.TileHashReader over the log's C2SP tlog-tiles (tile/<L>/<N>[.p/<W>], height 8), which
// checks the tiles against the signed root, and rebuilds the tree from those leaf hashes with
// tlog (its root must be the signed one: TileHashReader alone misses some tiles, see checkTree);
// builds and checks the inclusion proof of every leaf from the tiles (tlog.ProveRecord,
// tlog.CheckRecord); checks every inclusion proof the log serves (/v1/proof/inclusion) and a
// consistency proof (/v1/proof/consistency) from every smaller size to the checkpoint
// (tlog.CheckTree, against roots tlog.TreeHash computes from the checked leaf hashes); and does
// the same against each saved -checkpoint (an earlier signed note of the same log). With -api-key (audit role) it also lists the entries and checks that
// SHA-256(0x00 || entry bytes), computed by tlog.RecordHash, is the leaf hash in the tiles.
//
// Each -receipt (a guzheng-receipt/v1 or /v2 JSON file, contracts-free-ledger/SPEC.md#receipts) is
// checked offline: its checkpoint and its block's checkpoint open under -key, the leaf hash is
// recomputed from the RFC 8785 form of its entry, the inclusion proof passes tlog.CheckRecord
// and the block consistency proof tlog.CheckTree. With -url, the receipt's checkpoint must also
// be consistent with the log's latest.
//
// Checkpoints are C2SP tlog-checkpoint notes: origin, size and base64 root on the first three
// lines, then any non-empty extension lines, which are ignored. (tlog.ParseTree parses only the
// go.sum database's header, so it is not used.)
//
// It prints "ok: size N, K tiles, M proofs" and exits 0, or prints what failed and exits 1.
// Exit 2 is a usage error.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// tileHeight is the C2SP tlog-tiles tile height (contracts-free-ledger/SPEC.md#tiles).
const tileHeight = 8

type fileList []string

func (f *fileList) String() string     { return strings.Join(*f, ",") }
func (f *fileList) Set(s string) error { *f = append(*f, s); return nil }

// checkpoint is an opened, parsed checkpoint note.
type checkpoint struct {
	origin string
	tree   tlog.Tree
	note   string
}

// checker holds what the checks share: the pinned verifier, the log and the counters.
type checker struct {
	verifier note.Verifier
	base     string
	apiKey   string
	client   *http.Client
	proofs   int
}

func main() {
	var checkpoints, receipts fileList
	key := flag.String("key", "", "the log's verifier key, name+keyid+base64 (pinned)")
	base := flag.String("url", "", "base URL of a running Guzheng service")
	apiKey := flag.String("api-key", "", "API key with the audit role: also check every entry's bytes")
	flag.Var(&checkpoints, "checkpoint", "a saved signed checkpoint of the log (repeatable)")
	flag.Var(&receipts, "receipt", "a guzheng-receipt JSON file (repeatable)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: guzheng-interop -key VKEY [-url URL [-api-key K]] [-checkpoint FILE]... [-receipt FILE]...")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *key == "" || flag.NArg() != 0 || (*base == "" && len(checkpoints) == 0 && len(receipts) == 0) {
		flag.Usage()
		os.Exit(2)
	}
	if *base != "" && !checkURL(*base) {
		fmt.Fprintf(os.Stderr, "usage: -url %q: want an absolute http(s) URL\n", *base)
		os.Exit(2)
	}
	v, err := note.NewVerifier(*key)
	if err != nil {
		fmt.Fprintf(os.Stderr, "usage: -key: note.NewVerifier: %v\n", err)
		os.Exit(2)
	}
	c := &checker{verifier: v, base: strings.TrimSuffix(*base, "/"), apiKey: *apiKey, client: &http.Client{Timeout: 30 * time.Second}}
	summary, err := c.run(checkpoints, receipts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: %v\n", err)
		os.Exit(1)
	}
	fmt.Println(summary)
}

func (c *checker) run(checkpointFiles, receiptFiles []string) (string, error) {
	var saved []checkpoint
	size := int64(0)
	for _, f := range checkpointFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		cp, err := c.open(b)
		if err != nil {
			return "", fmt.Errorf("checkpoint %s: %v", f, err)
		}
		saved = append(saved, cp)
		if cp.tree.N > size {
			size = cp.tree.N
		}
	}
	var latest *checkpoint
	tiles := &tileReader{c: c, cache: make(map[tlog.Tile][]byte)}
	if c.base != "" {
		b, err := c.get("/checkpoint")
		if err != nil {
			return "", err
		}
		cp, err := c.open(b)
		if err != nil {
			return "", fmt.Errorf("GET /checkpoint: %v", err)
		}
		latest = &cp
		size = cp.tree.N
		for _, s := range saved {
			if s.tree.N > cp.tree.N {
				return "", fmt.Errorf("saved checkpoint of size %d is larger than the log's latest, %d", s.tree.N, cp.tree.N)
			}
		}
		// The latest tree first: its tiles are the full ones; a saved tree reads the partial
		// tiles of its own size.
		for _, t := range append([]checkpoint{cp}, saved...) {
			if err := c.checkTree(t.tree, cp.tree, tiles); err != nil {
				return "", fmt.Errorf("tree of size %d: %v", t.tree.N, err)
			}
		}
	}
	for _, f := range receiptFiles {
		n, err := c.checkReceipt(f, latest)
		if err != nil {
			return "", fmt.Errorf("receipt %s: %v", f, err)
		}
		if n > size {
			size = n
		}
	}
	return fmt.Sprintf("ok: size %d, %d tiles, %d proofs", size, tiles.fetched, c.proofs), nil
}

// open opens a checkpoint note with the pinned verifier only (note.Open) and parses its text.
func (c *checker) open(msg []byte) (checkpoint, error) {
	n, err := note.Open(msg, note.VerifierList(c.verifier))
	if err != nil {
		return checkpoint{}, fmt.Errorf("note.Open: %v", err)
	}
	origin, tree, err := parseCheckpoint(n.Text)
	if err != nil {
		return checkpoint{}, err
	}
	if origin != c.verifier.Name() {
		return checkpoint{}, fmt.Errorf("checkpoint origin %q, want the key's name %q", origin, c.verifier.Name())
	}
	return checkpoint{origin: origin, tree: tree, note: string(msg)}, nil
}

// parseCheckpoint parses a C2SP tlog-checkpoint text: origin, canonical decimal size and the
// base64 root on the first three lines, then zero or more non-empty extension lines, ignored.
func parseCheckpoint(text string) (string, tlog.Tree, error) {
	if !strings.HasSuffix(text, "\n") {
		return "", tlog.Tree{}, errors.New("checkpoint text does not end in a newline")
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 3 {
		return "", tlog.Tree{}, fmt.Errorf("checkpoint has %d lines, want at least 3", len(lines))
	}
	for i, l := range lines[3:] {
		if l == "" {
			return "", tlog.Tree{}, fmt.Errorf("checkpoint extension line %d is empty", i+1)
		}
	}
	n, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || n < 0 || lines[1] != strconv.FormatInt(n, 10) {
		return "", tlog.Tree{}, fmt.Errorf("checkpoint size %q is not a canonical decimal", lines[1])
	}
	root, err := base64.StdEncoding.Strict().DecodeString(lines[2])
	if err != nil || len(root) != tlog.HashSize {
		return "", tlog.Tree{}, fmt.Errorf("checkpoint root %q is not base64 of %d bytes", lines[2], tlog.HashSize)
	}
	var h tlog.Hash
	copy(h[:], root)
	return lines[0], tlog.Tree{N: n, Hash: h}, nil
}

// checkTree checks one signed tree (t) of the log whose latest signed tree is latest.
func (c *checker) checkTree(t, latest tlog.Tree, tiles *tileReader) error {
	if t.N == 0 {
		if t.Hash != sha256.Sum256(nil) {
			return errors.New("the empty tree's root is not SHA-256 of the empty string")
		}
		return nil
	}
	thr := tlog.TileHashReader(t, tiles)

	// Every leaf hash, read from tiles that x/mod authenticates against the signed root.
	indexes := make([]int64, t.N)
	for i := range indexes {
		indexes[i] = tlog.StoredHashIndex(0, int64(i))
	}
	leaves, err := thr.ReadHashes(indexes)
	if err != nil {
		return fmt.Errorf("tlog.TileHashReader: %v", err)
	}
	if int64(len(leaves)) != t.N {
		return fmt.Errorf("tlog.TileHashReader: %d hashes for %d leaves", len(leaves), t.N)
	}
	// TileHashReader is not enough on its own: x/mod (v0.7.0, sumdb/tlog/tile.go, "Authenticate
	// full tiles against their parents") checks the child tiles from position len(stx) on, stx
	// being the subtree indexes of the tree hash, not from the number of distinct tiles those
	// indexes fall in. When several share a tile (N = 701: 7 indexes in 2 tiles), the first child
	// tiles are returned without being checked. So x/mod rebuilds the tree from the leaf hashes
	// (tlog.StoredHashesForRecordHash) and its root must be the signed one.
	stored, err := storeLeaves(leaves)
	if err != nil {
		return err
	}
	if root, err := tlog.TreeHash(t.N, stored); err != nil || root != t.Hash {
		return fmt.Errorf("the leaf hashes read through tlog.TileHashReader do not hash to the signed root (tlog.TreeHash: %v, %v): a served tile is wrong", root, err)
	}
	if c.apiKey != "" && t == latest {
		if err := c.checkEntries(leaves); err != nil {
			return err
		}
	}

	for i := int64(0); i < t.N; i++ {
		// Built by x/mod from the tiles, then checked.
		p, err := tlog.ProveRecord(t.N, i, thr)
		if err != nil {
			return fmt.Errorf("tlog.ProveRecord(%d, %d): %v", t.N, i, err)
		}
		if err := tlog.CheckRecord(p, t.N, t.Hash, i, leaves[i]); err != nil {
			return fmt.Errorf("tlog.CheckRecord of tlog.ProveRecord(%d, %d): %v", t.N, i, err)
		}
		c.proofs++
		// Served by the log.
		var inc struct {
			Index    string   `json:"index"`
			Size     string   `json:"size"`
			LeafHash string   `json:"leafHash"`
			Path     []string `json:"path"`
		}
		q := fmt.Sprintf("/v1/proof/inclusion?index=%d&size=%d", i, t.N)
		if err := c.getJSON(q, &inc); err != nil {
			return err
		}
		if inc.Index != strconv.FormatInt(i, 10) || inc.Size != strconv.FormatInt(t.N, 10) {
			return fmt.Errorf("GET %s: answered index %q size %q", q, inc.Index, inc.Size)
		}
		lh, err := parseHash(inc.LeafHash)
		if err != nil {
			return fmt.Errorf("GET %s: leafHash: %v", q, err)
		}
		if lh != leaves[i] {
			return fmt.Errorf("GET %s: leafHash %s, but the checked tiles hold %s", q, lh, leaves[i])
		}
		path, err := parseHashes(inc.Path)
		if err != nil {
			return fmt.Errorf("GET %s: path: %v", q, err)
		}
		if err := tlog.CheckRecord(tlog.RecordProof(path), t.N, t.Hash, i, leaves[i]); err != nil {
			return fmt.Errorf("tlog.CheckRecord of GET %s: %v", q, err)
		}
		c.proofs++
	}

	// Consistency: from every smaller size k (root computed by x/mod from the checked leaf
	// hashes) to t, as the log serves it; and from t to the latest checkpoint.
	for k := int64(1); k < t.N; k++ {
		root, err := tlog.TreeHash(k, stored)
		if err != nil {
			return fmt.Errorf("tlog.TreeHash(%d): %v", k, err)
		}
		if err := c.checkConsistency(tlog.Tree{N: k, Hash: root}, t); err != nil {
			return err
		}
	}
	if t != latest {
		if err := c.checkConsistency(t, latest); err != nil {
			return err
		}
		lthr := tlog.TileHashReader(latest, tiles)
		p, err := tlog.ProveTree(latest.N, t.N, lthr)
		if err != nil {
			return fmt.Errorf("tlog.ProveTree(%d, %d): %v", latest.N, t.N, err)
		}
		if err := tlog.CheckTree(p, latest.N, latest.Hash, t.N, t.Hash); err != nil {
			return fmt.Errorf("tlog.CheckTree of tlog.ProveTree(%d, %d): %v", latest.N, t.N, err)
		}
		c.proofs++
	}
	return nil
}

// hashes is a tlog.HashReader over the stored hashes of a tree, in storage order.
type hashes []tlog.Hash

func (h hashes) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(h)) {
			return nil, fmt.Errorf("stored hash %d not in a tree of %d stored hashes", x, len(h))
		}
		out[i] = h[x]
	}
	return out, nil
}

// storeLeaves builds every stored hash of the tree with these leaf hashes, with x/mod's
// tlog.StoredHashesForRecordHash.
func storeLeaves(leaves []tlog.Hash) (hashes, error) {
	var h hashes
	for i, leaf := range leaves {
		more, err := tlog.StoredHashesForRecordHash(int64(i), leaf, h)
		if err != nil {
			return nil, fmt.Errorf("tlog.StoredHashesForRecordHash(%d): %v", i, err)
		}
		h = append(h, more...)
	}
	return h, nil
}

// checkConsistency checks the log's consistency proof from old to t with tlog.CheckTree.
func (c *checker) checkConsistency(old, t tlog.Tree) error {
	var cons struct {
		From string   `json:"from"`
		To   string   `json:"to"`
		Path []string `json:"path"`
	}
	q := fmt.Sprintf("/v1/proof/consistency?from=%d&to=%d", old.N, t.N)
	if err := c.getJSON(q, &cons); err != nil {
		return err
	}
	if cons.From != strconv.FormatInt(old.N, 10) || cons.To != strconv.FormatInt(t.N, 10) {
		return fmt.Errorf("GET %s: answered from %q to %q", q, cons.From, cons.To)
	}
	path, err := parseHashes(cons.Path)
	if err != nil {
		return fmt.Errorf("GET %s: path: %v", q, err)
	}
	if err := tlog.CheckTree(tlog.TreeProof(path), t.N, t.Hash, old.N, old.Hash); err != nil {
		return fmt.Errorf("tlog.CheckTree of GET %s: %v", q, err)
	}
	c.proofs++
	return nil
}

// checkEntries lists every entry (audit role) and checks that tlog.RecordHash of its exact
// bytes is the checked leaf hash, and that the leafHash the log states agrees.
func (c *checker) checkEntries(leaves []tlog.Hash) error {
	next := int64(0)
	for next < int64(len(leaves)) {
		var page struct {
			Entries []struct {
				Index    string `json:"index"`
				LeafHash string `json:"leafHash"`
				Data     string `json:"data"`
			} `json:"entries"`
		}
		q := fmt.Sprintf("/v1/entries?start=%d&limit=1000", next)
		if err := c.getJSON(q, &page); err != nil {
			return err
		}
		if len(page.Entries) == 0 {
			return fmt.Errorf("GET %s: no entries, want up to %d", q, len(leaves))
		}
		for _, e := range page.Entries {
			if next >= int64(len(leaves)) {
				break // entries appended after the checkpoint
			}
			if e.Index != strconv.FormatInt(next, 10) {
				return fmt.Errorf("GET %s: entry %q, want %d", q, e.Index, next)
			}
			data, err := base64.StdEncoding.Strict().DecodeString(e.Data)
			if err != nil {
				return fmt.Errorf("GET %s: entry %d: data: %v", q, next, err)
			}
			if h := tlog.RecordHash(data); h != leaves[next] {
				return fmt.Errorf("entry %d: tlog.RecordHash(entry bytes) = %s, but the checked tiles hold %s", next, h, leaves[next])
			}
			if lh, err := parseHash(e.LeafHash); err != nil || lh != leaves[next] {
				return fmt.Errorf("GET %s: entry %d: leafHash %q, want %s", q, next, e.LeafHash, leaves[next])
			}
			next++
		}
	}
	return nil
}

// receipt is a guzheng-receipt/v1 or /v2 (contracts-free-ledger/SPEC.md#receipts): the members
// x/mod can check. Others (v2's RFC 3161 timestamp, the block's format) are not checked here.
type receipt struct {
	Format           string          `json:"format"`
	Index            string          `json:"index"`
	Entry            json.RawMessage `json:"entry"`
	LeafHash         string          `json:"leafHash"`
	InclusionProof   []string        `json:"inclusionProof"`
	Checkpoint       string          `json:"checkpoint"`
	Block            block           `json:"block"`
	BlockConsistency []string        `json:"blockConsistency"`
	VerifierKey      string          `json:"verifierKey"` // informative only: never trusted
}

type block struct {
	Height     string `json:"height"`
	Prev       string `json:"prev"`
	Time       string `json:"time"`
	First      string `json:"first"`
	Count      string `json:"count"`
	Checkpoint string `json:"checkpoint"`
}

// checkReceipt checks a receipt file offline (and against latest, if given); it returns the
// size of the receipt's checkpoint.
func (c *checker) checkReceipt(file string, latest *checkpoint) (int64, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0, err
	}
	var r receipt
	if err := json.Unmarshal(b, &r); err != nil {
		return 0, fmt.Errorf("not a receipt: %v", err)
	}
	if r.Format != "guzheng-receipt/v1" && r.Format != "guzheng-receipt/v2" {
		return 0, fmt.Errorf("format %q, want guzheng-receipt/v1 or guzheng-receipt/v2", r.Format)
	}
	if len(r.Entry) == 0 || r.InclusionProof == nil || r.BlockConsistency == nil {
		return 0, errors.New("entry, inclusionProof or blockConsistency missing")
	}
	index, err := decimal(r.Index, "index")
	if err != nil {
		return 0, err
	}
	cp, err := c.open([]byte(r.Checkpoint))
	if err != nil {
		return 0, fmt.Errorf("checkpoint: %v", err)
	}
	if index >= cp.tree.N {
		return 0, fmt.Errorf("index %d is not below the checkpoint's size %d", index, cp.tree.N)
	}
	leafData, err := canonicalJSON(r.Entry)
	if err != nil {
		return 0, fmt.Errorf("entry: %v", err)
	}
	leaf := tlog.RecordHash(leafData)
	if stated, err := parseHash(r.LeafHash); err != nil || stated != leaf {
		return 0, fmt.Errorf("leafHash %q, but SHA-256(0x00 || RFC 8785 entry) = %s", r.LeafHash, leaf)
	}
	proof, err := parseHashes(r.InclusionProof)
	if err != nil {
		return 0, fmt.Errorf("inclusionProof: %v", err)
	}
	if err := tlog.CheckRecord(tlog.RecordProof(proof), cp.tree.N, cp.tree.Hash, index, leaf); err != nil {
		return 0, fmt.Errorf("tlog.CheckRecord of inclusionProof: %v", err)
	}
	c.proofs++

	// The sealing block: its checkpoint opens, covers the entry, and is a prefix of cp.
	first, err := decimal(r.Block.First, "block.first")
	if err != nil {
		return 0, err
	}
	count, err := decimal(r.Block.Count, "block.count")
	if err != nil {
		return 0, err
	}
	bcp, err := c.open([]byte(r.Block.Checkpoint))
	if err != nil {
		return 0, fmt.Errorf("block.checkpoint: %v", err)
	}
	if bcp.tree.N != first+count || index < first || index >= first+count {
		return 0, fmt.Errorf("block seals [%d, %d) at size %d, which does not cover index %d", first, first+count, bcp.tree.N, index)
	}
	if bcp.tree.N > cp.tree.N {
		return 0, fmt.Errorf("block checkpoint size %d is beyond the receipt's checkpoint size %d", bcp.tree.N, cp.tree.N)
	}
	bproof, err := parseHashes(r.BlockConsistency)
	if err != nil {
		return 0, fmt.Errorf("blockConsistency: %v", err)
	}
	if err := tlog.CheckTree(tlog.TreeProof(bproof), cp.tree.N, cp.tree.Hash, bcp.tree.N, bcp.tree.Hash); err != nil {
		return 0, fmt.Errorf("tlog.CheckTree of blockConsistency: %v", err)
	}
	c.proofs++

	if latest != nil && cp.tree != latest.tree {
		if cp.tree.N > latest.tree.N {
			return 0, fmt.Errorf("checkpoint size %d is beyond the log's latest, %d", cp.tree.N, latest.tree.N)
		}
		if err := c.checkConsistency(cp.tree, latest.tree); err != nil {
			return 0, err
		}
	}
	return cp.tree.N, nil
}

// tileReader is a tlog.TileReader over the log's C2SP tlog-tiles. A tile is cached once
// TileHashReader has accepted it (SaveTiles); whatever is read is checked again (the rebuilt
// root, CheckRecord), so a wrong tile that TileHashReader lets through is still caught.
type tileReader struct {
	c       *checker
	cache   map[tlog.Tile][]byte
	fetched int
}

func (r *tileReader) Height() int { return tileHeight }

// c2spPath maps Go's tile (whose sumdb path tile/H/L/N[.p/W] includes the height) to the C2SP
// path tile/L/N[.p/W]; the N[.p/W] part is spelled the same (x-prefixed groups of 3 digits).
func c2spPath(t tlog.Tile) (string, error) {
	if t.H != tileHeight || t.L < 0 {
		return "", fmt.Errorf("no C2SP path for tile %+v", t)
	}
	prefix := fmt.Sprintf("tile/%d/", t.H)
	p := t.Path()
	if !strings.HasPrefix(p, prefix) {
		return "", fmt.Errorf("unexpected Go tile path %q", p)
	}
	return "tile/" + strings.TrimPrefix(p, prefix), nil
}

func (r *tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	data := make([][]byte, len(tiles))
	for i, t := range tiles {
		if d, ok := r.cache[t]; ok {
			data[i] = d
			continue
		}
		p, err := c2spPath(t)
		if err != nil {
			return nil, err
		}
		d, err := r.c.get("/" + p)
		if err != nil {
			return nil, err
		}
		if len(d) != t.W*tlog.HashSize {
			return nil, fmt.Errorf("GET /%s: %d bytes, want %d", p, len(d), t.W*tlog.HashSize)
		}
		r.fetched++
		data[i] = d
	}
	return data, nil
}

func (r *tileReader) SaveTiles(tiles []tlog.Tile, data [][]byte) {
	for i, t := range tiles {
		r.cache[t] = data[i]
	}
}

// get fetches a path of the log and returns the body of a 200 answer.
func (c *checker) get(path string) ([]byte, error) {
	req, err := http.NewRequest("GET", c.base+path, nil)
	if err != nil {
		return nil, err
	}
	if c.apiKey != "" && strings.HasPrefix(path, "/v1/entries") {
		req.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	res, err := c.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %v", path, err)
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %s", path, res.Status, bytes.TrimSpace(body))
	}
	return body, nil
}

func (c *checker) getJSON(path string, v interface{}) error {
	body, err := c.get(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: %v", path, err)
	}
	return nil
}

// decimal parses a canonical unsigned decimal that fits an int64 (tlog's tree sizes).
func decimal(s, what string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || s != strconv.FormatInt(n, 10) {
		return 0, fmt.Errorf("%s %q is not a canonical decimal", what, s)
	}
	return n, nil
}

// parseHash parses 64 lowercase hex digits.
func parseHash(s string) (tlog.Hash, error) {
	var h tlog.Hash
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != tlog.HashSize || s != strings.ToLower(s) {
		return h, fmt.Errorf("%q is not 64 lowercase hex digits", s)
	}
	copy(h[:], b)
	return h, nil
}

func parseHashes(list []string) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(list))
	for i, s := range list {
		h, err := parseHash(s)
		if err != nil {
			return nil, fmt.Errorf("[%d]: %v", i, err)
		}
		out[i] = h
	}
	return out, nil
}

// canonicalJSON returns the RFC 8785 (JCS) form of one JSON value: members sorted by their
// UTF-16 code units, strings escaped as ECMAScript's JSON.stringify does, no whitespace.
// Numbers must be integers of magnitude below 2^53 (all an entry holds); anything else is an
// error rather than a guess. Duplicate member names are an error.
func canonicalJSON(raw []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out bytes.Buffer
	if err := jcsValue(dec, &out); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the JSON value")
	}
	return out.Bytes(), nil
}

func jcsValue(dec *json.Decoder, out *bytes.Buffer) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch v := tok.(type) {
	case json.Delim:
		switch v {
		case '{':
			type member struct {
				key   string
				value []byte
			}
			var members []member
			seen := make(map[string]bool)
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return err
				}
				k, ok := kt.(string)
				if !ok {
					return fmt.Errorf("member name %v is not a string", kt)
				}
				if seen[k] {
					return fmt.Errorf("duplicate member %q", k)
				}
				seen[k] = true
				var val bytes.Buffer
				if err := jcsValue(dec, &val); err != nil {
					return err
				}
				members = append(members, member{k, val.Bytes()})
			}
			if _, err := dec.Token(); err != nil { // '}'
				return err
			}
			sort.Slice(members, func(i, j int) bool { return utf16Less(members[i].key, members[j].key) })
			out.WriteByte('{')
			for i, m := range members {
				if i > 0 {
					out.WriteByte(',')
				}
				jcsString(m.key, out)
				out.WriteByte(':')
				out.Write(m.value)
			}
			out.WriteByte('}')
		case '[':
			out.WriteByte('[')
			for i := 0; dec.More(); i++ {
				if i > 0 {
					out.WriteByte(',')
				}
				if err := jcsValue(dec, out); err != nil {
					return err
				}
			}
			if _, err := dec.Token(); err != nil { // ']'
				return err
			}
			out.WriteByte(']')
		default:
			return fmt.Errorf("unexpected %v", v)
		}
	case string:
		jcsString(v, out)
	case json.Number:
		f, err := v.Float64()
		const limit = 1 << 53
		if err != nil || f != float64(int64(f)) || f <= -limit || f >= limit {
			return fmt.Errorf("number %s: only integers below 2^53 in magnitude are supported", v)
		}
		out.WriteString(strconv.FormatInt(int64(f), 10))
	case bool:
		out.WriteString(strconv.FormatBool(v))
	case nil:
		out.WriteString("null")
	default:
		return fmt.Errorf("unexpected token %v", tok)
	}
	return nil
}

func jcsString(s string, out *bytes.Buffer) {
	out.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			out.WriteString(`\"`)
		case '\\':
			out.WriteString(`\\`)
		case '\b':
			out.WriteString(`\b`)
		case '\f':
			out.WriteString(`\f`)
		case '\n':
			out.WriteString(`\n`)
		case '\r':
			out.WriteString(`\r`)
		case '\t':
			out.WriteString(`\t`)
		default:
			if r < 0x20 {
				fmt.Fprintf(out, `\u%04x`, r)
			} else {
				out.WriteRune(r)
			}
		}
	}
	out.WriteByte('"')
}

func utf16Less(a, b string) bool {
	x, y := utf16.Encode([]rune(a)), utf16.Encode([]rune(b))
	for i := 0; i < len(x) && i < len(y); i++ {
		if x[i] != y[i] {
			return x[i] < y[i]
		}
	}
	return len(x) < len(y)
}

// checkURL reports whether s is an absolute http(s) URL.
func checkURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
