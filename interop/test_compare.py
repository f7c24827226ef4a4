"""Self-test of compare.py: each normalisation accepts exactly its deviation, and
any other difference fails. Run: python test_compare.py (no database needed)."""
from __future__ import annotations

import copy
import unittest

import compare as cmp
import retrieval_compare as rc

OURS = {
    "workspace": "w",
    "kv": {"text_chunks": {"c1": {"id": "c1", "content": "x", "tokens": 1, "llm_cache_list": ["a"]}}},
    "doc_status": {"d1": {"status": "processed", "created_at": "2026-01-01T10:00:00+00:00",
                          "updated_at": "2026-01-01T10:00:01.5+00:00", "chunks_list": ["c1"]}},
    "vectors": {
        "chunks": {"c1": {"id": "c1", "content": "x", "full_doc_id": "d1", "file_path": "f", "created_at": 5,
                          "vector": [0.1, 0.2]}},
        "entities": {"e1": {"id": "e1", "entity_name": "A", "content": "A\nd", "source_id": "c1<SEP>c2",
                            "file_path": "f", "created_at": 5, "vector": [1.0, 0.0]}},
        "relationships": {"r1": {"id": "r1", "src_id": "A", "tgt_id": "B", "content": "k", "source_id": "c1",
                                 "file_path": "f", "created_at": 5, "vector": [0.0, 1.0]}},
    },
    "graph": {
        "nodes": {"A": {"entity_id": "A", "weight": 1}, "B": {"entity_id": "B"}},
        "edges": [{"source": "A", "target": "B", "properties": {"weight": 1.0, "keywords": "k"}}],
        "degrees": {"A": 1, "B": 1},
    },
    "knowledge_graphs": {"A:2:10": {"nodes": [{"id": "A", "labels": ["A"], "properties": {"entity_id": "A"}},
                                              {"id": "B", "labels": ["B"], "properties": {"entity_id": "B"}}],
                                    "edges": [{"id": "A-B", "type": None, "source": "A", "target": "B",
                                               "properties": {"weight": 1.0}}],
                                    "is_truncated": False}},
}

PYTHON = {
    "workspace": "w",
    "kv": copy.deepcopy(OURS["kv"]),
    "doc_status": {"d1": {"status": "processed", "created_at": "2026-01-01T11:00:00+01:00",
                          "updated_at": "2026-01-01T10:00:01.500000Z", "chunks_list": ["c1"]}},
    "vectors": {
        "chunks": {"c1": {"id": "c1", "content": "x", "full_doc_id": "d1", "file_path": "f", "created_at": 5,
                          "workspace": "w", "create_time": "2026-01-01T10:00:00", "update_time": "2026-01-01T10:00:00",
                          "vector": [0.1 + 5e-6, 0.2]}},
        "entities": {"e1": {"id": "e1", "entity_name": "A", "content": "A\nd", "chunk_ids": ["c1", "c2"],
                            "file_path": "f", "created_at": 5, "workspace": "w", "vector": [1.0, 0.0]}},
        "relationships": {"r1": {"id": "r1", "source_id": "A", "target_id": "B", "content": "k", "chunk_ids": ["c1"],
                                 "file_path": "f", "created_at": 5, "workspace": "w", "vector": [0.0, 1.0]}},
    },
    "graph": {
        "nodes": {"A": {"entity_id": "A", "weight": 1.0}, "B": {"entity_id": "B"}},
        "edges": [{"source": "B", "target": "A", "weight": 1, "keywords": "k"}],
        "degrees": {"A": 1, "B": 1},
    },
    "knowledge_graphs": {"A:2:10": {"nodes": [{"id": "844", "labels": ["A"], "properties": {"entity_id": "A"}},
                                              {"id": "845", "labels": ["B"], "properties": {"entity_id": "B"}}],
                                    "edges": [{"id": "1125", "type": "DIRECTED", "source": "845", "target": "844",
                                               "properties": {"weight": 1.0}}],
                                    "is_truncated": False}},
}


def diff(ours, python):
    return cmp.compare(ours, python)


class Normalisations(unittest.TestCase):
    def test_known_deviations_compare_equal(self):
        self.assertEqual(diff(OURS, PYTHON), [])

    def test_a_changed_kv_field_fails(self):
        p = copy.deepcopy(PYTHON)
        p["kv"]["text_chunks"]["c1"]["content"] = "y"
        self.assertEqual(len(diff(OURS, p)), 1)

    def test_a_record_on_one_side_only_fails_both_ways(self):
        p = copy.deepcopy(PYTHON)
        p["kv"]["text_chunks"]["c2"] = {"id": "c2"}
        self.assertIn("only in python", diff(OURS, p)[0])
        o = copy.deepcopy(OURS)
        o["kv"]["text_chunks"]["c2"] = {"id": "c2"}
        self.assertIn("only in ours", diff(o, PYTHON)[0])

    def test_an_extra_field_fails(self):
        o = copy.deepcopy(OURS)
        o["kv"]["text_chunks"]["c1"]["extra"] = 1
        self.assertEqual(len(diff(o, PYTHON)), 1)

    def test_a_different_instant_fails(self):
        p = copy.deepcopy(PYTHON)
        p["doc_status"]["d1"]["created_at"] = "2026-01-01T10:00:00+01:00"
        self.assertEqual(len(diff(OURS, p)), 1)

    def test_a_vector_beyond_tolerance_fails(self):
        p = copy.deepcopy(PYTHON)
        p["vectors"]["chunks"]["c1"]["vector"][1] += 1e-4
        self.assertEqual(len(diff(OURS, p)), 1)

    def test_chunk_ids_must_match_source_id(self):
        p = copy.deepcopy(PYTHON)
        p["vectors"]["entities"]["e1"]["chunk_ids"] = ["c2", "c1"]
        self.assertEqual(len(diff(OURS, p)), 1)

    def test_relation_endpoints_must_match(self):
        p = copy.deepcopy(PYTHON)
        p["vectors"]["relationships"]["r1"]["target_id"] = "C"
        self.assertEqual(len(diff(OURS, p)), 1)

    def test_an_unknown_python_column_fails(self):
        p = copy.deepcopy(PYTHON)
        p["vectors"]["chunks"]["c1"]["tokens"] = 3
        self.assertEqual(len(diff(OURS, p)), 1)

    def test_edge_properties_and_duplicates_fail(self):
        p = copy.deepcopy(PYTHON)
        p["graph"]["edges"][0]["keywords"] = "other"
        self.assertEqual(len(diff(OURS, p)), 1)
        p = copy.deepcopy(PYTHON)
        p["graph"]["edges"].append({"source": "A", "target": "B", "weight": 1, "keywords": "k"})
        self.assertTrue(any("duplicate" in line for line in diff(OURS, p)))

    def test_degrees_must_match(self):
        p = copy.deepcopy(PYTHON)
        p["graph"]["degrees"]["A"] = 2
        self.assertEqual(len(diff(OURS, p)), 1)

    def test_knowledge_graph_by_names(self):
        p = copy.deepcopy(PYTHON)
        p["knowledge_graphs"]["A:2:10"]["edges"][0]["properties"]["weight"] = 2.0
        self.assertEqual(len(diff(OURS, p)), 1)
        p = copy.deepcopy(PYTHON)
        p["knowledge_graphs"]["A:2:10"]["nodes"].pop()
        self.assertTrue(diff(OURS, p))

    def test_truncated_graphs_with_other_nodes_compare_counts_only(self):
        o, p = copy.deepcopy(OURS), copy.deepcopy(PYTHON)
        for d in (o, p):
            d["knowledge_graphs"]["A:2:10"]["is_truncated"] = True
        p["knowledge_graphs"]["A:2:10"]["nodes"][1]["properties"]["entity_id"] = "C"
        p["knowledge_graphs"]["A:2:10"]["nodes"][1]["labels"] = ["C"]
        self.assertEqual(diff(o, p), [])
        p["knowledge_graphs"]["A:2:10"]["nodes"].pop()
        self.assertEqual(len(diff(o, p)), 1)

    def test_a_null_vector_column_is_an_absent_field(self):
        p = copy.deepcopy(PYTHON)
        p["vectors"]["chunks"]["c1"]["tokens"] = None
        self.assertEqual(diff(OURS, p), [])
        p["vectors"]["chunks"]["c1"]["tokens"] = 0
        self.assertEqual(len(diff(OURS, p)), 1)

    def test_booleans_are_not_numbers(self):
        p = copy.deepcopy(PYTHON)
        p["graph"]["nodes"]["A"]["weight"] = True
        self.assertEqual(len(diff(OURS, p)), 1)


class RetrievalComparison(unittest.TestCase):
    """retrieval_compare.py: aquery_data results identical up to N9."""

    RESULT = {"status": "success", "data": {"entities": [{"entity_name": "A", "created_at": 5}],
                                            "relationships": [{"src_id": "A", "tgt_id": "B", "weight": 1.0}]}}

    def test_numbers_compare_by_value(self):
        other = copy.deepcopy(self.RESULT)
        other["data"]["relationships"][0]["weight"] = 1
        other["data"]["entities"][0]["created_at"] = 5.0
        self.assertEqual(rc.first_difference(self.RESULT, other), "")

    def test_order_of_items_matters(self):
        other = copy.deepcopy(self.RESULT)
        other["data"]["entities"].append({"entity_name": "B", "created_at": 5})
        mine = copy.deepcopy(other)
        mine["data"]["entities"].reverse()
        self.assertIn("/data/entities[0]/entity_name", rc.first_difference(mine, other))

    def test_any_other_difference_fails(self):
        for change in [lambda r: r["data"]["entities"][0].update(entity_name="a"),
                       lambda r: r["data"]["entities"][0].update(created_at=True),
                       lambda r: r["data"]["relationships"].pop(),
                       lambda r: r.update(status="failure"),
                       lambda r: r["data"]["entities"][0].update(extra="x")]:
            other = copy.deepcopy(self.RESULT)
            change(other)
            self.assertNotEqual(rc.first_difference(self.RESULT, other), "", other)


class ServeComparison(unittest.TestCase):
    """retrieval_compare.serve_compare_bodies: the two servers' HTTP bodies,
    identical up to N9, S1 (`/query` response_time), S2 (`/graphs` by names) and
    S3 (`/query/stream` pieces joined)."""

    QUERY = {"response": "ctx", "references": [{"reference_id": "1", "file_path": "f", "content": None}],
             "response_time": 0.2, "llm_generated": False}
    OURS_KG = {"nodes": [{"id": "A", "labels": ["A"], "properties": {"entity_id": "A", "w": 1}},
                         {"id": "B", "labels": ["B"], "properties": {"entity_id": "B"}}],
               "edges": [{"id": "A-B", "type": "DIRECTED", "source": "A", "target": "B",
                          "properties": {"weight": 1.0, "keywords": "k"}}],
               "is_truncated": False}
    PY_KG = {"nodes": [{"id": "844424930131970", "labels": ["B"], "properties": {"entity_id": "B"}},
                       {"id": "844424930131969", "labels": ["A"], "properties": {"w": 1.0, "entity_id": "A"}}],
             "edges": [{"id": "1125899906842625", "type": "DIRECTED", "source": "844424930131970",
                        "target": "844424930131969", "properties": {"keywords": "k", "weight": 1}}],
             "is_truncated": False}

    def test_response_time_is_any_duration(self):
        other = dict(self.QUERY, response_time=3)
        self.assertEqual(rc.serve_compare_bodies("/query", self.QUERY, other), "")

    def test_response_time_must_be_a_duration_on_both_sides(self):
        for t in [None, -1, "0.2", True]:
            other = dict(self.QUERY, response_time=t)
            self.assertNotEqual(rc.serve_compare_bodies("/query", self.QUERY, other), "", t)

    def test_anything_else_in_a_query_answer_fails(self):
        for change in [lambda r: r.update(llm_generated=True), lambda r: r["references"][0].pop("content"),
                       lambda r: r.update(response="ctx "), lambda r: r.update(references=None)]:
            other = copy.deepcopy(self.QUERY)
            change(other)
            self.assertNotEqual(rc.serve_compare_bodies("/query", self.QUERY, other), "", other)

    def test_response_time_is_only_normalised_on_query(self):
        a, b = {"status": "success", "response_time": 1}, {"status": "success", "response_time": 2}
        self.assertNotEqual(rc.serve_compare_bodies("/query/data", a, b), "")

    def test_graphs_compare_by_entity_names(self):
        self.assertEqual(rc.serve_compare_bodies("/graphs", self.OURS_KG, self.PY_KG), "")

    def test_graphs_differences_fail(self):
        for change in [lambda g: g["nodes"][0]["properties"].update(entity_id="C"),
                       lambda g: g["nodes"][1]["properties"].update(w=2),
                       lambda g: g["edges"][0]["properties"].update(keywords="x"),
                       lambda g: g["edges"].pop(),
                       lambda g: g["nodes"].pop(),
                       lambda g: g.update(is_truncated=True),
                       lambda g: g.update(extra=1)]:
            other = copy.deepcopy(self.PY_KG)
            change(other)
            self.assertNotEqual(rc.serve_compare_bodies("/graphs", self.OURS_KG, other), "", other)

    def test_truncated_graphs_that_kept_other_nodes_compare_counts(self):
        ours = dict(copy.deepcopy(self.OURS_KG), is_truncated=True)
        other = dict(copy.deepcopy(self.PY_KG), is_truncated=True)
        other["nodes"][0]["properties"]["entity_id"] = "C"
        other["nodes"][0]["labels"] = ["C"]
        self.assertEqual(rc.serve_compare_bodies("/graphs", ours, other), "")

    def test_stream_pieces_compare_joined(self):
        refs = {"references": [{"reference_id": "1", "file_path": "f"}]}
        ours = [refs, {"response": "Scro"}, {"response": "oge."}]
        python = [refs, {"response": "Sc"}, {"response": "roo"}, {"response": "ge."}]
        self.assertEqual(rc.serve_compare_bodies("/query/stream", ours, python), "")

    def test_stream_response_time_is_any_duration(self):
        a = [{"progress": "retrieving_chunks"}, {"response": "x"}, {"response_time": 0.1}]
        b = [{"progress": "retrieving_chunks"}, {"response": "x"}, {"response_time": 2}]
        self.assertEqual(rc.serve_compare_bodies("/query/stream", a, b), "")
        self.assertNotEqual(rc.serve_compare_bodies("/query/stream", a, b[:2] + [{"response_time": -1}]), "")
        self.assertNotEqual(rc.serve_compare_bodies("/query/stream", a, [{"progress": "x"}] + b[1:]), "")

    def test_stream_differences_fail(self):
        refs = {"references": [{"reference_id": "1", "file_path": "f"}]}
        base = [refs, {"response": "Scrooge."}]
        for other in [[refs, {"response": "Scrooge!"}], [{"response": "Scrooge."}],
                      [refs, {"response": "Scrooge."}, {"error": "x"}],
                      [{"response": "Scrooge.", "llm_generated": True, "references": refs["references"]}]]:
            self.assertNotEqual(rc.serve_compare_bodies("/query/stream", base, other), "", other)

    def test_lists_of_labels_keep_their_order(self):
        self.assertNotEqual(rc.serve_compare_bodies("/graph/label/popular", ["A", "B"], ["B", "A"]), "")


if __name__ == "__main__":
    unittest.main()
