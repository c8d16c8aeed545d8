// Latent store: round trips (single file and virtual index over shards), random reads, validation, atomicity.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "common/test_util.h"
#include "core/errors.h"
#include "store/latent_store.h"
#include "store/row_file_writer.h"
#include "store/store_schema.h"

using namespace s3e;
namespace fs = std::filesystem;

namespace {

// Row r of latents is r*1000 + element; labels r%2 per attribute.
void write_store(const fs::path& path, int64_t rows, int64_t first_row, const std::vector<int64_t>& shape,
                 RowFileOptions options = {}, bool finalize = true) {
  int64_t dim = 1;
  for (auto d : shape) dim *= d;
  RowFileWriter w(path, k_store_schema, k_store_schema_version, store_columns(shape, 3), options);
  w.set_attr_int64s("latent_shape", shape);
  w.write_strings(k_ds_attribute_names, {"a", "b", "c"});
  for (int64_t r = first_row; r < first_row + rows; ++r) {
    std::vector<float> lat(dim), lab = {float(r % 2), 1.0f, 0.0f};
    for (int64_t k = 0; k < dim; ++k) lat[k] = r * 1000.0f + k;
    int64_t video = r / 10, frame = r % 10;
    w.append(k_col_latents, lat.data(), 1);
    w.append(k_col_labels, lab.data(), 1);
    w.append(k_col_video_index, &video, 1);
    w.append(k_col_frame_index, &frame, 1);
  }
  if (finalize) w.finalize();
}

void expect_row(const float* row, int64_t r, int64_t dim) {
  for (int64_t k = 0; k < dim; ++k) ASSERT_EQ(row[k], r * 1000.0f + k) << "row " << r << " element " << k;
}

std::string open_error(const fs::path& p) {
  try {
    LatentStore s(p);
  } catch (const DataError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find(p.string()), std::string::npos) << m;
    return m;
  }
  ADD_FAILURE() << p << " opened";
  return "";
}

}  // namespace

TEST(LatentStore, RoundTripWithRandomAndRangeReads) {
  test::TempDir dir("store");
  write_store(dir / "s.h5", 50, 0, {4, 8});
  LatentStore s(dir / "s.h5");
  EXPECT_EQ(s.size(), 50);
  EXPECT_EQ(s.latent_shape(), (std::vector<int64_t>{4, 8}));
  EXPECT_EQ(s.attribute_names(), (std::vector<std::string>{"a", "b", "c"}));
  std::vector<int64_t> idx = {17, 3, 3, 49, 0, 18};  // unsorted, duplicates, neighbours
  std::vector<float> out(idx.size() * 32);
  s.read_latents(idx, out.data());
  for (size_t i = 0; i < idx.size(); ++i) expect_row(&out[i * 32], idx[i], 32);
  std::vector<float> range(5 * 32);
  s.read_range_f32(k_col_latents, 45, 5, range.data());
  for (int i = 0; i < 5; ++i) expect_row(&range[i * 32], 45 + i, 32);
  std::vector<float> labels(idx.size() * 3);
  s.read_labels(idx, labels.data());
  for (size_t i = 0; i < idx.size(); ++i) EXPECT_EQ(labels[i * 3], float(idx[i] % 2));
  std::vector<int64_t> frames(idx.size());
  s.read_rows_i64(k_col_frame_index, idx, frames.data());
  for (size_t i = 0; i < idx.size(); ++i) EXPECT_EQ(frames[i], idx[i] % 10);
  EXPECT_THROW(s.read_latents({50}, out.data()), std::out_of_range);
  EXPECT_FALSE(s.is_virtual(k_col_latents));
}

TEST(LatentStore, VirtualIndexOverShardsReadsAsOneDataset) {
  test::TempDir dir("store_vds");
  write_store(dir / "part0.h5", 7, 0, {16});
  write_store(dir / "part1.h5", 0, 7, {16});  // an empty shard is skipped
  write_store(dir / "part2.h5", 13, 7, {16});
  {
    RowFileWriter index(dir / "all.h5", k_store_schema, k_store_schema_version, {});
    for (auto& c : store_columns({16}, 3))
      index.write_virtual_column(c, {"part0.h5", "part1.h5", "part2.h5"}, {7, 0, 13});
    index.set_attr_int64s("latent_shape", {16});
    index.write_strings(k_ds_attribute_names, {"a", "b", "c"});
    index.finalize();
  }
  // Open from another working directory: shard names resolve next to the index file.
  auto cwd = fs::current_path();
  fs::current_path("/");
  LatentStore s(dir / "all.h5");
  fs::current_path(cwd);
  EXPECT_TRUE(s.is_virtual(k_col_latents));
  ASSERT_EQ(s.size(), 20);
  std::vector<int64_t> idx = {19, 0, 6, 7, 12};
  std::vector<float> out(idx.size() * 16);
  s.read_latents(idx, out.data());
  for (size_t i = 0; i < idx.size(); ++i) expect_row(&out[i * 16], idx[i], 16);
  // And h5py sees the same single dataset.
  auto r = test::run_python("import h5py, numpy as np\n"
                            "f=h5py.File('" + (dir / "all.h5").string() + "','r')\n"
                            "x=f['latents'][:]\n"
                            "assert x.shape==(20,16), x.shape\n"
                            "assert (x[:,0]==np.arange(20)*1000).all(), x[:,0]\n"
                            "assert [n.decode() for n in f['attribute_names'][:]]==['a','b','c']\n"
                            "assert f.attrs['schema']=='s3editor.latent_store'\n");
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST(LatentStore, ChunksAreSizedToRowsAndCompressionIsOptional) {
  ColumnSpec wplus{"latents", {18, 512}, ColumnType::f32};
  ColumnSpec flat{"latents", {136}, ColumnType::f32};
  ColumnSpec huge{"latents", {1024, 1024}, ColumnType::f32};
  RowFileOptions o;
  EXPECT_EQ(row_chunk_rows(wplus, o), 1);      // 36 KiB rows: one row per chunk
  EXPECT_EQ(row_chunk_rows(flat, o), 120);     // 544 B rows: 64 KiB chunks
  EXPECT_EQ(row_chunk_rows(huge, o), 1);
  test::TempDir dir("store_gz");
  write_store(dir / "plain.h5", 200, 0, {64}, {64 << 10, 0});
  write_store(dir / "gz.h5", 200, 0, {64}, {64 << 10, 6});
  EXPECT_LT(fs::file_size(dir / "gz.h5"), fs::file_size(dir / "plain.h5"));
  LatentStore gz(dir / "gz.h5");
  std::vector<float> out(64);
  gz.read_latents({123}, out.data());
  expect_row(out.data(), 123, 64);
}

TEST(LatentStore, UnfinishedWriterLeavesNothingUnderTheFinalName) {
  test::TempDir dir("store_atomic");
  write_store(dir / "s.h5", 10, 0, {8}, {}, /*finalize=*/false);
  EXPECT_FALSE(fs::exists(dir / "s.h5"));
  EXPECT_TRUE(fs::is_empty(dir.path()));
  EXPECT_THROW(RowFileWriter("/proc/no_such_dir/x.h5", k_store_schema, 1, {}), UsageError);
}

TEST(LatentStore, ValidationNamesTheFileAndTheProblem) {
  test::TempDir dir("store_bad");
  write_store(dir / "good.h5", 10, 0, {8});
  EXPECT_NE(open_error(dir / "missing.h5").find("no such file"), std::string::npos);
  std::ofstream(dir / "empty.h5").close();
  EXPECT_NE(open_error(dir / "empty.h5").find("not an HDF5 file"), std::string::npos);
  std::ofstream(dir / "text.h5") << "hello, not hdf5\n";
  EXPECT_NE(open_error(dir / "text.h5").find("not an HDF5 file"), std::string::npos);
  {
    std::string bytes = test::read_file(dir / "good.h5");
    std::ofstream(dir / "truncated.h5", std::ios::binary) << bytes.substr(0, bytes.size() / 3);
  }
  open_error(dir / "truncated.h5");
  auto py = [&](const std::string& code) {
    auto r = test::run_python("import h5py, numpy as np, shutil\nd='" + dir.path().string() + "'\n" + code);
    ASSERT_EQ(r.exit_code, 0) << r.output;
  };
  py("h5py.File(d+'/foreign.h5','w').create_dataset('x', data=np.zeros(3))\n");
  EXPECT_NE(open_error(dir / "foreign.h5").find("no 'schema' attribute"), std::string::npos);
  py("shutil.copy(d+'/good.h5', d+'/wrong_schema.h5')\nh5py.File(d+'/wrong_schema.h5','a').attrs['schema']='other'\n");
  EXPECT_NE(open_error(dir / "wrong_schema.h5").find("schema is 'other'"), std::string::npos);
  py("shutil.copy(d+'/good.h5', d+'/future.h5')\nh5py.File(d+'/future.h5','a').attrs['schema_version']=np.array([99])\n");
  EXPECT_NE(open_error(dir / "future.h5").find("schema_version 99"), std::string::npos);
  py("shutil.copy(d+'/good.h5', d+'/shape.h5')\nh5py.File(d+'/shape.h5','a').attrs['latent_shape']=np.array([9])\n");
  EXPECT_NE(open_error(dir / "shape.h5").find("expected 10x9"), std::string::npos);
  py("shutil.copy(d+'/good.h5', d+'/nolabels.h5')\ndel h5py.File(d+'/nolabels.h5','a')['labels']\n");
  EXPECT_NE(open_error(dir / "nolabels.h5").find("'labels' is missing"), std::string::npos);
  py("shutil.copy(d+'/good.h5', d+'/count.h5')\nh5py.File(d+'/count.h5','a').attrs['num_samples']=np.array([11])\n");
  EXPECT_NE(open_error(dir / "count.h5").find("expected 11x8"), std::string::npos);
}

TEST(LatentStore, ScanFindsNonFiniteRows) {
  test::TempDir dir("store_nan");
  {
    RowFileWriter w(dir / "s.h5", k_store_schema, 1, store_columns({4}, 0));
    w.set_attr_int64s("latent_shape", {4});
    std::vector<float> rows = {0, 1, 2, 3, NAN, 1, NAN, 3, 0, INFINITY, 0, 0, 1, 1, 1, 1};
    std::vector<int64_t> zero(4, 0);
    w.append(k_col_latents, rows.data(), 4);
    w.append(k_col_labels, nullptr, 4);  // zero attributes
    w.append(k_col_video_index, zero.data(), 4);
    w.append(k_col_frame_index, zero.data(), 4);
    w.finalize();
  }
  LatentStore s(dir / "s.h5");
  auto report = s.scan_nonfinite(k_col_latents);
  EXPECT_EQ(report.nan_values, 2);
  EXPECT_EQ(report.inf_values, 1);
  EXPECT_EQ(report.rows_affected, 2);
  EXPECT_EQ(report.first_bad_row, 1);
}
