// crash.cpp — a small C++ program that crashes the way argv[1] says, for the
// crashstream minidump corpus: crashes inside a class template, a lambda,
// an anonymous-namespace class, and an uncaught exception. Modes:
//   template  NULL read in Matrix<double>::at via Matrix<double>::trace
//   lambda    NULL write in a lambda run by std::for_each in a namespace
//   anon      virtual call through a NULL object in an anonymous namespace
//   throw     uncaught std::runtime_error -> std::terminate -> abort
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace corpus {

template <typename T>
class Matrix {
public:
	Matrix(std::size_t rows, std::size_t cols, T *data) : rows_(rows), cols_(cols), data_(data) {}

	T at(std::size_t r, std::size_t c) const { return data_[r * cols_ + c]; }

	template <typename Acc>
	__attribute__((noinline)) Acc trace(Acc init) const
	{
		for (std::size_t i = 0; i < rows_ && i < cols_; ++i)
			init += static_cast<Acc>(at(i, i));
		return init;
	}

private:
	std::size_t rows_, cols_;
	T *data_;
};

__attribute__((noinline)) double crash_template()
{
	Matrix<double> m(3, 3, nullptr);
	return m.trace<double>(0.5);
}

struct Counter {
	std::string name;
	int *hits;
};

__attribute__((noinline)) int crash_lambda(std::vector<Counter> &counters)
{
	int total = 0;
	std::for_each(counters.begin(), counters.end(), [&total](Counter &c) {
		*c.hits += 1;
		total += *c.hits;
	});
	return total;
}

} // namespace corpus

namespace {

class Shape {
public:
	virtual ~Shape() = default;
	virtual double area() const = 0;
};

class Square : public Shape {
public:
	explicit Square(double side) : side_(side) {}
	double area() const override { return side_ * side_; }

private:
	double side_;
};

class Parser {
public:
	__attribute__((noinline)) double total_area(const std::vector<const Shape *> &shapes) const
	{
		double sum = 0;
		for (const Shape *s : shapes)
			sum += s->area(); // NULL object: faults loading the vtable
		return sum;
	}
};

__attribute__((noinline)) double crash_anon()
{
	Square a(2), b(3);
	std::vector<const Shape *> shapes{&a, nullptr, &b};
	return Parser().total_area(shapes);
}

__attribute__((noinline)) void load_config(const std::string &path)
{
	throw std::runtime_error("cannot open config " + path);
}

__attribute__((noinline)) void crash_throw()
{
	load_config("/nonexistent/crashstream.conf");
}

} // namespace

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	if (std::strcmp(mode, "template") == 0)
		return static_cast<int>(corpus::crash_template());
	if (std::strcmp(mode, "lambda") == 0) {
		static int ok[2] = {1, 2};
		std::vector<corpus::Counter> counters{{"a", &ok[0]}, {"b", &ok[1]}, {"c", nullptr}};
		return corpus::crash_lambda(counters);
	}
	if (std::strcmp(mode, "anon") == 0)
		return static_cast<int>(crash_anon());
	if (std::strcmp(mode, "throw") == 0)
		crash_throw();
	std::fprintf(stderr, "usage: %s template|lambda|anon|throw\n", argv[0]);
	return 2;
}
