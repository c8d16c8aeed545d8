// .npy reader: every supported dtype/byte order/version written by real numpy, and each broken variant.
#include <gtest/gtest.h>

#include <fstream>

#include "common/test_util.h"
#include "core/errors.h"
#include "store/npy_reader.h"
#include "store/npy_writer.h"

using namespace s3e;

namespace {

void python_ok(const std::string& code) {
  auto r = test::run_python("import numpy as np\n" + code);
  ASSERT_EQ(r.exit_code, 0) << r.output;
}

std::string expect_data_error(const std::filesystem::path& p) {
  try {
    NpyReader reader(p);
    ADD_FAILURE() << p << " was accepted";
  } catch (const DataError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find(p.string()), std::string::npos) << "message does not name the file: " << m;
    return m;
  }
  return "";
}

}  // namespace

TEST(Npy, ReadsEveryDtypeByteOrderAndVersion) {
  test::TempDir dir("npy");
  // Values 0..23 shaped (4, 2, 3); each dtype must read back as the same floats.
  python_ok("import sys\n"
            "d=sys.argv[1] if len(sys.argv)>1 else '" + dir.path().string() + "'\n"
            "a=np.arange(24).reshape(4,2,3)\n"
            "for name,dt in [('f4le','<f4'),('f4be','>f4'),('f8le','<f8'),('f8be','>f8'),('u1','u1'),('i8le','<i8'),('i8be','>i8')]:\n"
            "  np.save(d+'/'+name+'.npy', a.astype(dt))\n"
            "np.save(d+'/b1.npy', (a%2==1))\n"
            "for v in [(1,0),(2,0),(3,0)]:\n"
            "  with open(d+'/v%d.npy'%v[0],'wb') as f: np.lib.format.write_array(f, a.astype('<f4'), version=v)\n");
  for (const char* name : {"f4le", "f4be", "f8le", "f8be", "u1", "i8le", "i8be", "v1", "v2", "v3"}) {
    NpyReader r(dir / (std::string(name) + ".npy"));
    ASSERT_EQ(r.rows(), 4) << name;
    ASSERT_EQ(r.row_elements(), 6) << name;
    std::vector<float> out(24);
    r.read_rows_f32(0, 4, out.data());
    for (int i = 0; i < 24; ++i) ASSERT_EQ(out[i], static_cast<float>(i)) << name << " element " << i;
    std::vector<float> mid(6);
    r.read_rows_f32(2, 1, mid.data());
    EXPECT_EQ(mid[0], 12.0f) << name;
  }
  NpyReader b(dir / "b1.npy");
  std::vector<float> out(24);
  b.read_rows_f32(0, 4, out.data());
  for (int i = 0; i < 24; ++i) EXPECT_EQ(out[i], i % 2 ? 1.0f : 0.0f);
  EXPECT_EQ(NpyReader(dir / "v2.npy").header().major_version, 2);
  EXPECT_EQ(NpyReader(dir / "v3.npy").header().major_version, 3);
}

TEST(Npy, BrokenFilesGiveClearErrors) {
  test::TempDir dir("npy_bad");
  python_ok("d='" + dir.path().string() + "'\n"
            "a=np.arange(24,dtype='<f4').reshape(4,6)\n"
            "np.save(d+'/fortran.npy', np.asfortranarray(a.reshape(4,6)))\n"
            "np.save(d+'/object.npy', np.array([{'a':1}, None], dtype=object), allow_pickle=True)\n"
            "np.save(d+'/complex.npy', a.astype(np.complex64))\n"
            "np.save(d+'/structured.npy', np.zeros(3, dtype=[('x','<f4'),('y','<i4')]))\n"
            "np.save(d+'/good.npy', a)\n"
            "b=open(d+'/good.npy','rb').read()\n"
            "open(d+'/truncated.npy','wb').write(b[:-10])\n"
            "open(d+'/trailing.npy','wb').write(b+b'xx')\n"
            "open(d+'/magic.npy','wb').write(b'\\x93NUMPX'+b[6:])\n"
            "open(d+'/version9.npy','wb').write(b[:6]+bytes([9,0])+b[8:])\n"
            "open(d+'/empty.npy','wb').write(b'')\n"
            "open(d+'/header_only.npy','wb').write(b[:20])\n");
  EXPECT_NE(expect_data_error(dir / "fortran.npy").find("Fortran order"), std::string::npos);
  EXPECT_NE(expect_data_error(dir / "object.npy").find("not supported"), std::string::npos);
  EXPECT_NE(expect_data_error(dir / "complex.npy").find("not supported"), std::string::npos);
  EXPECT_NE(expect_data_error(dir / "structured.npy").find("structured"), std::string::npos);
  EXPECT_NE(expect_data_error(dir / "truncated.npy").find("truncated"), std::string::npos);
  EXPECT_NE(expect_data_error(dir / "trailing.npy").find("trailing"), std::string::npos);
  EXPECT_NE(expect_data_error(dir / "magic.npy").find("bad magic"), std::string::npos);
  EXPECT_NE(expect_data_error(dir / "version9.npy").find("version 9"), std::string::npos);
  EXPECT_NE(expect_data_error(dir / "empty.npy").find("bad magic"), std::string::npos);
  EXPECT_NE(expect_data_error(dir / "header_only.npy").find("header"), std::string::npos);
  EXPECT_NE(expect_data_error(dir / "missing.npy").find("cannot be opened"), std::string::npos);
  NpyReader good(dir / "good.npy");
  EXPECT_EQ(good.rows(), 4);
}

TEST(Npy, WriterOutputIsReadByNumpyAndLeavesNothingWhenAbandoned) {
  test::TempDir dir("npy_write");
  std::vector<float> data(2 * 3 * 5);
  for (size_t i = 0; i < data.size(); ++i) data[i] = 0.5f * i;
  {
    NpyWriter w(dir / "x.npy", {2, 3, 5});
    w.append_rows(data.data(), 1);
    w.append_rows(data.data() + 15, 1);
    w.finalize();
  }
  python_ok("a=np.load('" + (dir / "x.npy").string() + "')\n"
            "assert a.shape==(2,3,5) and a.dtype==np.float32, a.shape\n"
            "assert (a.ravel()==0.5*np.arange(30)).all()\n");
  {
    NpyWriter w(dir / "abandoned.npy", {2, 4});
    w.append_rows(data.data(), 1);
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "abandoned.npy"));
  for (auto& e : std::filesystem::directory_iterator(dir.path()))
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << "temporary left: " << e.path();
}
